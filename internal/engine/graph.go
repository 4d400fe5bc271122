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

// GraphWidth is the width GraphText wraps its lines to.
const GraphWidth = 100

// GraphText draws the tree as text wrapped to GraphWidth columns; see
// GraphTextWidth.
func GraphText(rb *Runbook, mark string) string { return GraphTextWidth(rb, mark, GraphWidth) }

// GraphTextWidth draws the tree as text, each line at most width columns
// (long lines wrap under their own indentation).
//
// The layout follows the main path down the left margin: each step lists
// its other routes first, one level in ("├ [label] step"), and then the
// route that leads to most of the remaining steps continues at the same
// depth ("↓ [label]" and the next step below it). So siblings always share
// one depth, a chain of steps never drifts right, and nesting grows only
// with side branches inside side branches. Each step is drawn once; a route
// to a step drawn elsewhere is "→ step (above)" or "(below)". mark, when not
// empty, is the step id flagged with ▶ as the current position.
func GraphTextWidth(rb *Runbook, mark string, width int) string {
	g := &graphText{rb: rb, mark: mark, width: max(width, 20), drawn: map[string]bool{}}
	if len(rb.Steps) > 0 {
		g.seq(rb.Steps[0].ID, "", "", "", map[string]bool{}, 0)
	}
	for _, st := range rb.Steps {
		if !g.drawn[st.ID] {
			g.seq(st.ID, "", "", "(unreachable) ", map[string]bool{}, 0)
		}
	}
	return g.b.String()
}

type graphText struct {
	rb    *Runbook
	mark  string
	width int
	drawn map[string]bool
	b     strings.Builder
}

// reach counts the steps reachable from id that are neither drawn nor
// claimed by stop (bounded by the number of steps).
func (g *graphText) reach(id string, stop map[string]bool) map[string]bool {
	seen := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 && len(seen) <= len(g.rb.Steps) {
		cur := queue[0]
		queue = queue[1:]
		st := g.rb.Step(cur)
		if st == nil || seen[cur] || g.drawn[cur] || stop[cur] {
			continue
		}
		seen[cur] = true
		for _, e := range edges(st) {
			queue = append(queue, e.to)
		}
	}
	return seen
}

// seq draws the sequence that starts at id: head prefixes its first line,
// body every later line of the sequence.
func (g *graphText) seq(id, head, body, via string, stop map[string]bool, depth int) {
	for n := 0; n <= len(g.rb.Steps); n++ {
		st := g.rb.Step(id)
		if st == nil {
			g.line("  ", head, body, via+"✗ "+id+" (missing)")
			return
		}
		if g.drawn[id] || stop[id] {
			where := "(above)"
			if !g.drawn[id] {
				where = "(below)"
			}
			g.line("  ", head, body, via+"→ "+stepTag(st)+" "+where)
			return
		}
		cur := "  "
		if st.ID == g.mark {
			cur = "▶ "
		}
		g.drawn[id] = true
		g.line(cur, head, body, via+stepTag(st)+" ["+string(st.Kind)+fleetTag(st)+"]")
		head = body
		es := edges(st)
		// The continuation: the route that reaches most undrawn steps.
		cont, best := -1, 0
		var contReach map[string]bool
		for i, e := range es {
			if g.drawn[e.to] || stop[e.to] || g.rb.Step(e.to) == nil {
				continue
			}
			r := g.reach(e.to, stop)
			if len(r) >= best {
				cont, best, contReach = i, len(r), r
			}
		}
		side := map[string]bool{}
		for k := range stop {
			side[k] = true
		}
		for k := range contReach {
			side[k] = true
		}
		var others []int
		for i := range es {
			if i != cont {
				others = append(others, i)
			}
		}
		for j, i := range others {
			conn, next := "├ ", "│ "
			if cont < 0 && j == len(others)-1 {
				conn, next = "└ ", "  "
			}
			if depth > 200 {
				return
			}
			g.seq(es[i].to, body+conn, body+next, edgeLabel(es[i]), side, depth+1)
		}
		if cont < 0 {
			return
		}
		via = ""
		if l := edgeLabel(es[cont]); l != "" {
			g.line("  ", body+"↓ ", body+"  ", strings.TrimSuffix(l, " "))
		}
		id = es[cont].to
	}
}

func edgeLabel(e edge) string {
	if e.label == "" {
		return ""
	}
	return "[" + e.label + "] "
}

// line writes one entry, wrapped at spaces to the width; wrapped parts
// indent under the entry's text.
func (g *graphText) line(cur, head, body, text string) {
	first := cur + head
	rest := "  " + body + "    "
	for n := 0; text != ""; n++ {
		prefix := first
		if n > 0 {
			prefix = rest
		}
		room := max(g.width-textWidth(prefix), 10)
		part, tail := cutAt(text, room)
		g.b.WriteString(prefix + part + "\n")
		text = tail
	}
}

// cutAt splits s before the last space that keeps the first part within
// room columns (or at room when there is no space).
func cutAt(s string, room int) (string, string) {
	if textWidth(s) <= room {
		return s, ""
	}
	w, lastSpace, cut := 0, -1, len(s)
	for i, r := range s {
		rw := runeWidth(r)
		if w+rw > room {
			cut = i
			break
		}
		if r == ' ' {
			lastSpace = i
		}
		w += rw
	}
	if lastSpace > 0 {
		return s[:lastSpace], strings.TrimLeft(s[lastSpace:], " ")
	}
	return s[:cut], s[cut:]
}

// textWidth is the terminal width of s: East Asian wide runes take two
// columns (an approximation that is enough for wrapping the graph).
func textWidth(s string) int {
	w := 0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}

func runeWidth(r rune) int {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6, r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
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
