package engine

import (
	"fmt"
	"strconv"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Explanations: what a decision tested, in order, and every value each test
// read, so a driver can show "why" in full (the TUI's explain view) and the
// journal keeps it. Decision.Explain stays the one-line summary.

// DecisionCheck is one expression a decision tested, with the values it read.
type DecisionCheck struct {
	Expr string `json:"expr"`
	// Held: the expression was true (the branch taken, or a wait's until
	// that was satisfied at the last poll).
	Held   bool        `json:"held"`
	Values []ExprValue `json:"values,omitempty"`
	// Until marks a wait step's until expression, as of its last poll.
	Until bool `json:"until,omitempty"`
}

// checks re-evaluates, on the env the decision was made on, the tests
// that led to d: a wait's until, then each branch in order up to the one
// taken (all of them when else or next was taken). Values are masked.
func (s *Session) checks(st *Step, env Env, d *Decision) []DecisionCheck {
	var out []DecisionCheck
	add := func(src string, held, until bool) {
		vals := append(exprValues(s.rb, st, src, env), perHostValues(src, env)...)
		for i := range vals {
			vals[i].Value = s.mask(vals[i].Value)
		}
		out = append(out, DecisionCheck{Expr: s.mask(src), Held: held, Values: vals, Until: until})
	}
	if st.Kind == KindWait && st.Wait != nil && st.Wait.Until != "" {
		add(st.Wait.Until, env["satisfied"] == true, true)
	}
	for _, b := range st.Branches {
		held := b.If == d.Expr && b.Goto == d.Next
		add(b.If, held, false)
		if held {
			break
		}
	}
	return out
}

// perHostValues are the per-host fields a predicate over results reads
// (any(results, {.health == "FAILED"}) reads each host's health): one value
// per host and field, "results[node2].health", at most 12.
func perHostValues(src string, env Env) []ExprValue {
	results, _ := env["results"].([]any)
	if len(results) == 0 {
		return nil
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	f := &fieldVisitor{seen: map[string]bool{}}
	ast.Walk(&tree.Node, f)
	var out []ExprValue
	for _, field := range f.fields {
		for _, r := range results {
			m, _ := r.(map[string]any)
			if m == nil || len(out) >= 12 {
				continue
			}
			ev := ExprValue{Name: fmt.Sprintf("results[%v].%s", m["host"], field)}
			v, ok := m[field]
			switch x := v.(type) {
			case nil:
				ev.Missing, ev.Value = true, "<no value>"
				if ok {
					ev.Value = "<no match>"
				}
			case string:
				if r := []rune(x); len(r) > 60 {
					x = string(r[:60]) + "…"
				}
				ev.Value = strconv.Quote(x)
			case map[string]any, []any:
				continue
			default:
				ev.Value = fmt.Sprint(x)
			}
			out = append(out, ev)
		}
	}
	return out
}

// fieldVisitor collects the fields a predicate over results reads through
// its pointer (.x in any(results, {.x == 1})). A pointer inside a nested
// predicate (any(.sb, {.resource == "r0"})) is an element of another list,
// not a field of the host's result, so it is left out.
type fieldVisitor struct {
	fields []string
	seen   map[string]bool
}

func (f *fieldVisitor) Visit(n *ast.Node) {
	b, ok := (*n).(*ast.BuiltinNode)
	if !ok || len(b.Arguments) < 2 {
		return
	}
	if id, ok := b.Arguments[0].(*ast.IdentifierNode); !ok || id.Value != "results" {
		return
	}
	if p, ok := b.Arguments[1].(*ast.PredicateNode); ok {
		f.pointerFields(p.Node)
	}
}

// pointerFields records .x members of the predicate body, not descending
// into nested predicates.
func (f *fieldVisitor) pointerFields(n ast.Node) {
	switch x := n.(type) {
	case nil:
		return
	case *ast.PredicateNode:
		return
	case *ast.MemberNode:
		if _, ok := x.Node.(*ast.PointerNode); ok {
			if p, ok := x.Property.(*ast.StringNode); ok && !f.seen[p.Value] {
				f.seen[p.Value] = true
				f.fields = append(f.fields, p.Value)
			}
			return
		}
		f.pointerFields(x.Node)
		f.pointerFields(x.Property)
	case *ast.BinaryNode:
		f.pointerFields(x.Left)
		f.pointerFields(x.Right)
	case *ast.UnaryNode:
		f.pointerFields(x.Node)
	case *ast.BuiltinNode:
		for _, a := range x.Arguments {
			f.pointerFields(a)
		}
	case *ast.CallNode:
		f.pointerFields(x.Callee)
		for _, a := range x.Arguments {
			f.pointerFields(a)
		}
	case *ast.ConditionalNode:
		f.pointerFields(x.Cond)
		f.pointerFields(x.Exp1)
		f.pointerFields(x.Exp2)
	case *ast.ChainNode:
		f.pointerFields(x.Node)
	case *ast.SliceNode:
		f.pointerFields(x.Node)
	case *ast.ArrayNode:
		for _, e := range x.Nodes {
			f.pointerFields(e)
		}
	case *ast.VariableDeclaratorNode:
		f.pointerFields(x.Value)
		f.pointerFields(x.Expr)
	}
}
