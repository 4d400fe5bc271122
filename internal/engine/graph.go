package engine

import (
	"fmt"
	"strings"
)

// edge is one route out of a step, labelled for people.
type edge struct {
	to, label string
}

func edges(s *Step) []edge {
	var out []edge
	for _, b := range s.Branches {
		out = append(out, edge{b.Goto, b.If})
	}
	for _, c := range s.Choices {
		out = append(out, edge{c.Goto, c.Answer})
	}
	if s.Else != "" {
		out = append(out, edge{s.Else, "else"})
	}
	if s.Next != "" {
		out = append(out, edge{s.Next, ""})
	}
	if s.OnError != "" {
		out = append(out, edge{s.OnError, "on error"})
	}
	return out
}

// GraphText draws the tree as indented text. Each step is printed once; a
// route to a step already drawn is shown as "→ id (above)". mark, when not
// empty, is the step id to flag as the current position.
func GraphText(rb *Runbook, mark string) string {
	var b strings.Builder
	drawn := map[string]bool{}
	var draw func(id, prefix, via string, depth int)
	draw = func(id, prefix, via string, depth int) {
		st := rb.Step(id)
		if st == nil {
			fmt.Fprintf(&b, "%s%s✗ %s (missing)\n", prefix, via, id)
			return
		}
		cur := "  "
		if st.ID == mark {
			cur = "▶ "
		}
		if drawn[st.ID] {
			fmt.Fprintf(&b, "%s%s→ %s (above)\n", prefix, via, stepTag(st))
			return
		}
		drawn[st.ID] = true
		fmt.Fprintf(&b, "%s%s%s%s [%s]\n", prefix, cur, via, stepTag(st), st.Kind)
		if depth > 200 {
			return
		}
		for _, e := range edges(st) {
			v := ""
			if e.label != "" {
				v = "[" + e.label + "] "
			}
			draw(e.to, prefix+"    ", v, depth+1)
		}
	}
	if len(rb.Steps) > 0 {
		draw(rb.Steps[0].ID, "", "", 0)
	}
	for _, st := range rb.Steps {
		if !drawn[st.ID] {
			draw(st.ID, "", "(unreachable) ", 0)
		}
	}
	return b.String()
}

func stepTag(st *Step) string {
	s := st.ID
	if st.Ref != "" {
		s = st.Ref + " " + s
	}
	if st.Title != "" {
		s += ": " + st.Title
	}
	if st.Kind == KindEnd {
		s += " (" + string(st.End) + ")"
	}
	return s
}

// GraphMermaid renders a Mermaid flowchart.
func GraphMermaid(rb *Runbook) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	ids := map[string]string{}
	for i, st := range rb.Steps {
		ids[st.ID] = fmt.Sprintf("s%d", i)
	}
	for _, st := range rb.Steps {
		text := mermaidEscape(stepTag(st))
		switch st.Kind {
		case KindAsk, KindManual:
			fmt.Fprintf(&b, "  %s{\"%s\"}\n", ids[st.ID], text)
		case KindEnd:
			fmt.Fprintf(&b, "  %s([\"%s\"])\n", ids[st.ID], text)
		case KindFix:
			fmt.Fprintf(&b, "  %s[/\"%s\"/]\n", ids[st.ID], text)
		default:
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[st.ID], text)
		}
	}
	for _, st := range rb.Steps {
		for _, e := range edges(st) {
			to, ok := ids[e.to]
			if !ok {
				continue
			}
			if e.label != "" {
				fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", ids[st.ID], mermaidEscape(e.label), to)
			} else {
				fmt.Fprintf(&b, "  %s --> %s\n", ids[st.ID], to)
			}
		}
	}
	return b.String()
}

func mermaidEscape(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "\n", " ", "|", "#124;", "<", "#lt;", ">", "#gt;")
	return r.Replace(s)
}

// GraphDot renders Graphviz dot.
func GraphDot(rb *Runbook) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n", rb.ID)
	for _, st := range rb.Steps {
		shape := "box"
		switch st.Kind {
		case KindAsk, KindManual:
			shape = "diamond"
		case KindEnd:
			shape = "oval"
		case KindFix:
			shape = "parallelogram"
		}
		fmt.Fprintf(&b, "  %q [label=%q shape=%s];\n", st.ID, stepTag(st), shape)
	}
	for _, st := range rb.Steps {
		for _, e := range edges(st) {
			if e.label != "" {
				fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", st.ID, e.to, e.label)
			} else {
				fmt.Fprintf(&b, "  %q -> %q;\n", st.ID, e.to)
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}
