package engine

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// ValueRef is a value that an expression or a command template reads from
// another step: a capture (steps["check"].used), a probe field
// (steps["check"].exit) or an answer (answers["ask-net"], Name "answer").
type ValueRef struct {
	Step   string `json:"step"`
	Name   string `json:"name"`
	UsedBy string `json:"used_by"` // the first step (in runbook order) that reads it
}

func (r ValueRef) String() string { return r.Step + "." + r.Name }

// MissingAtStart lists the values that steps reachable from start read from
// steps that cannot run before them: steps not reachable from start at all,
// so a session started there (--start-at) would see them empty. given
// (step id, then name, as in Options.Captures) are left out.
func MissingAtStart(rb *Runbook, start string, given map[string]map[string]string) []ValueRef {
	st := rb.Step(start)
	if st == nil || len(rb.Steps) == 0 || st == rb.Steps[0] {
		return nil
	}
	next := map[string][]string{}
	for _, x := range rb.Steps {
		for _, r := range x.Routes() {
			if t := rb.Step(r); t != nil {
				next[x.ID] = append(next[x.ID], t.ID)
			}
		}
	}
	reach := walk(st.ID, next)
	have := map[string]bool{}
	for id, vals := range given {
		if g := rb.Step(id); g != nil {
			for name := range vals {
				have[g.ID+"."+name] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []ValueRef
	for _, x := range rb.Steps {
		if !reach[x.ID] {
			continue
		}
		for _, src := range stepSources(x) {
			for _, ref := range sourceRefs(src) {
				var step, name string
				switch {
				case ref.root == "steps" && ref.sub != "":
					step, name = ref.key, ref.sub
				case ref.root == "answers":
					step, name = ref.key, "answer"
				default:
					continue
				}
				t := rb.Step(step)
				if t == nil || reach[t.ID] {
					continue
				}
				k := t.ID + "." + name
				if seen[k] || have[k] {
					continue
				}
				seen[k] = true
				out = append(out, ValueRef{Step: t.ID, Name: name, UsedBy: x.ID})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// stepSources are the expressions of a step, and the {{ }} parts of its templates.
func stepSources(st *Step) []string {
	var out []string
	for _, b := range st.Branches {
		out = append(out, b.If)
	}
	if st.Kind == KindAsk && st.Auto != "" && st.Auto != "stop" {
		isChoice := false
		for _, c := range st.Choices {
			isChoice = isChoice || c.Answer == st.Auto
		}
		if !isChoice {
			out = append(out, st.Auto)
		}
	}
	if st.Wait != nil {
		out = append(out, st.Wait.Until)
	}
	var tmpls []string
	if c := st.Command(); c != nil {
		tmpls = append(tmpls, c.Cmd)
	}
	for _, c := range st.Collect {
		tmpls = append(tmpls, c.Cmd)
	}
	for _, t := range tmpls {
		rest := t
		for {
			i := strings.Index(rest, "{{")
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], "}}")
			if j < 0 {
				break
			}
			out = append(out, strings.TrimSpace(rest[i+2:i+j]))
			rest = rest[i+j+2:]
		}
	}
	return out
}

// sourceRefs finds the constant keys an expression reads from session maps.
func sourceRefs(src string) []keyRef {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	tree, err := expr.Compile(src, append([]expr.Option{expr.AllowUndefinedVariables()}, exprOptions()...)...)
	if err != nil {
		return nil
	}
	v := &keyVisitor{}
	node := tree.Node()
	ast.Walk(&node, v)
	return v.refs
}
