package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Honest outcomes: a probe that could not give an answer never routes as if
// it had answered. Two kinds of step error come from here:
//
//   - ExprError: a branch or until expression could not be evaluated (a
//     type error, a conversion of a capture that did not match or is empty,
//     a missing value). It is never taken as false.
//   - ProbeError: the probe did not run properly (exit 126 or 127, killed by
//     a signal, timed out), unless a branch names that case (`exit == 127`,
//     `signal != ""`, `timed_out`).
//
// Both end up in Prompt.Err of a PromptError; drivers tell them apart with
// errors.As and offer retry, edit or override with a reason.

// ExprError is an expression that could not be evaluated at run time.
type ExprError struct {
	Step   string
	Expr   string
	Values []ExprValue // the values the expression read, in source order
	Reason string      // why it failed, for people
	Err    error       // the evaluator's own error
}

// ExprValue is one value an expression read, as shown to people.
type ExprValue struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Capture bool   `json:"capture,omitempty"`
	Missing bool   `json:"missing,omitempty"` // no value: a capture that did not match, a missing key
}

func (e *ExprError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s: cannot evaluate `%s`: %s", e.Step, e.Expr, e.Reason)
	if len(e.Values) > 0 {
		parts := make([]string, len(e.Values))
		for i, v := range e.Values {
			parts[i] = v.Name + "=" + v.Value
		}
		b.WriteString(" (values: " + strings.Join(parts, ", ") + ")")
	}
	return b.String()
}

func (e *ExprError) Unwrap() error { return e.Err }

// ProbeFailure names how a probe failed to run.
type ProbeFailure string

const (
	ProbeNotFound      ProbeFailure = "not-found"      // exit 127
	ProbeNotExecutable ProbeFailure = "not-executable" // exit 126
	ProbeSignal        ProbeFailure = "signal"         // killed by a signal
	ProbeTimeout       ProbeFailure = "timeout"        // the step's timeout cut it off
)

// ProbeError says a probe did not run properly on one host, so its exit code
// and output are not an answer.
type ProbeError struct {
	Step    string
	Host    string
	Failure ProbeFailure
	Exit    int
	Signal  string
	Stderr  string // the last line of stderr, if any
}

func (e *ProbeError) Error() string {
	var what string
	switch e.Failure {
	case ProbeNotFound:
		what = "command not found (exit 127)"
	case ProbeNotExecutable:
		what = "command not executable (exit 126)"
	case ProbeSignal:
		what = "killed by signal " + e.Signal
	case ProbeTimeout:
		what = "timed out"
	}
	msg := fmt.Sprintf("step %s: on %s the probe did not run properly: %s", e.Step, e.Host, what)
	if e.Stderr != "" {
		msg += ": " + strconv.Quote(e.Stderr)
	}
	return msg + "; its result is not an answer (a branch that names the case, e.g. `" + e.Case() + "`, would take it)"
}

// Case is an expression a branch can use to take this failure as an answer.
func (e *ProbeError) Case() string {
	switch e.Failure {
	case ProbeNotFound:
		return "exit == 127"
	case ProbeNotExecutable:
		return "exit == 126"
	case ProbeSignal:
		return `signal != ""`
	}
	return "timed_out"
}

// probeCases is what a step's expressions name explicitly.
type probeCases struct {
	exits           map[int]bool
	signal, timeout bool
}

func (c probeCases) handles(f ProbeFailure) bool {
	switch f {
	case ProbeNotFound:
		return c.exits[127]
	case ProbeNotExecutable:
		return c.exits[126]
	case ProbeSignal:
		return c.signal
	}
	return c.timeout
}

// stepCases collects the failure cases st's branches (and until) name: the
// literal 126 or 127, the names signal and timed_out.
func stepCases(st *Step) probeCases {
	c := probeCases{exits: map[int]bool{}}
	srcs := []string{}
	for _, b := range st.Branches {
		srcs = append(srcs, b.If)
	}
	if st.Wait != nil {
		srcs = append(srcs, st.Wait.Until)
	}
	for _, src := range srcs {
		tree, err := parser.Parse(src)
		if err != nil {
			continue
		}
		v := &caseVisitor{c: &c}
		ast.Walk(&tree.Node, v)
	}
	return c
}

type caseVisitor struct{ c *probeCases }

func (v *caseVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.BinaryNode:
		v.exitComparison(x)
	case *ast.IdentifierNode:
		switch x.Value {
		case "signal":
			v.c.signal = true
		case "timed_out":
			v.c.timeout = true
		}
	case *ast.MemberNode:
		if p, ok := x.Property.(*ast.StringNode); ok {
			switch p.Value {
			case "signal":
				v.c.signal = true
			case "timed_out":
				v.c.timeout = true
			}
		}
	}
}

// exitComparison marks the exit statuses a comparison with exit (or
// .exit) can be true for: `exit == 127`, `127 == exit`, `exit in [126,
// 127]`, `exit >= 126`, `exit > 125`. A 127 compared with anything else
// (`len(stdout) < 127`) or `exit != 0` names nothing.
func (v *caseVisitor) exitComparison(b *ast.BinaryNode) {
	isExit := func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IdentifierNode:
			return x.Value == "exit"
		case *ast.MemberNode:
			p, ok := x.Property.(*ast.StringNode)
			return ok && p.Value == "exit"
		}
		return false
	}
	op, other := b.Operator, b.Right
	if !isExit(b.Left) {
		if !isExit(b.Right) {
			return
		}
		other = b.Left
		switch op { // 127 < exit is exit > 127
		case "<":
			op = ">"
		case "<=":
			op = ">="
		case ">":
			op = "<"
		case ">=":
			op = "<="
		}
	}
	var nums []int
	switch o := other.(type) {
	case *ast.IntegerNode:
		nums = []int{o.Value}
	case *ast.ArrayNode:
		if op != "in" {
			return
		}
		for _, e := range o.Nodes {
			if i, ok := e.(*ast.IntegerNode); ok {
				nums = append(nums, i.Value)
			}
		}
	default:
		return
	}
	for _, code := range []int{126, 127} {
		for _, n := range nums {
			if (op == "==" || op == "in") && code == n || op == ">=" && code >= n || op == ">" && code > n {
				v.c.exits[code] = true
			}
		}
	}
}

// brokenProbe returns a ProbeError for every host whose probe did not run
// properly and whose case no branch of st names; nil when every result is
// an answer.
func brokenProbe(st *Step, results []HostResult) error {
	var cases *probeCases
	var errs ProbeErrors
	for _, r := range results {
		if r.Err != "" {
			continue // transport failures have their own path
		}
		var f ProbeFailure
		switch {
		case r.TimedOut:
			f = ProbeTimeout
		case r.Signal != "":
			f = ProbeSignal
		case r.Exit == 127:
			f = ProbeNotFound
		case r.Exit == 126:
			f = ProbeNotExecutable
		default:
			continue
		}
		if cases == nil {
			c := stepCases(st)
			cases = &c
		}
		if cases.handles(f) {
			continue
		}
		errs = append(errs, &ProbeError{Step: st.ID, Host: r.Host, Failure: f, Exit: r.Exit, Signal: r.Signal, Stderr: lastLine(r.Stderr)})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// ProbeErrors are the hosts of one probe that did not run properly; errors.As
// finds each *ProbeError.
type ProbeErrors []*ProbeError

func (e ProbeErrors) Error() string {
	parts := make([]string, len(e))
	for i, x := range e {
		parts[i] = x.Error()
	}
	return strings.Join(parts, "; ")
}

func (e ProbeErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, x := range e {
		out[i] = x
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// exprError explains why src failed on env at step st: the values it read
// (captures that did not match are marked), and the reason in words.
func (s *Session) exprError(st *Step, src string, env Env, err error) *ExprError {
	e := &ExprError{Step: st.ID, Expr: src, Err: err, Values: exprValues(s.rb, st, src, env)}
	raw := err.Error()
	if i := strings.Index(raw, "\": "); i >= 0 && strings.HasPrefix(raw, "expression ") {
		raw = raw[i+3:]
	}
	raw = exprPosSuffix.ReplaceAllString(raw, "")
	raw = strings.ReplaceAll(raw, "%!s(<nil>)", "nil") // expr formats nil types with %s
	if strings.HasPrefix(raw, "reflect:") {
		raw = "a missing value cannot be converted or compared" // expr's conversion of nil
	}
	e.Reason = raw
	for _, v := range e.Values {
		switch {
		case v.Capture && v.Missing:
			e.Reason = fmt.Sprintf("capture %s did not match the probe's output (guard with has(%s)); %s", v.Name, v.Name, raw)
			return e
		case v.Capture && v.Value == `""`:
			e.Reason = fmt.Sprintf("capture %s matched an empty string; %s", v.Name, raw)
			return e
		case v.Missing:
			e.Reason = fmt.Sprintf("%s has no value; %s", v.Name, raw)
			return e
		}
	}
	return e
}

// exprValues evaluates each name (or constant-key member chain such as
// steps["id"].used) that src reads, for the error shown to people.
func exprValues(rb *Runbook, st *Step, src string, env Env) []ExprValue {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	v := &valueVisitor{inner: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, v)
	caps := map[string]bool{}
	for _, n := range captureNames(st) {
		caps[n] = true
	}
	var out []ExprValue
	seen := map[string]bool{}
	for _, n := range v.nodes {
		if v.inner[n] {
			continue
		}
		name := n.String()
		if seen[name] || len(out) >= 12 {
			continue
		}
		seen[name] = true
		val, err := EvalExpr(name, env)
		if err != nil {
			continue
		}
		ev := ExprValue{Name: name, Capture: isCaptureRef(rb, caps, n)}
		switch x := val.(type) {
		case nil:
			ev.Missing, ev.Value = true, "<no value>"
			if ev.Capture {
				ev.Value = "<no match>"
			}
		case string:
			if r := []rune(x); len(r) > 60 {
				x = string(r[:60]) + "…"
			}
			ev.Value = strconv.Quote(x)
		case map[string]any, []any, []map[string]any:
			continue // whole maps and lists are noise here
		default:
			ev.Value = fmt.Sprint(x)
		}
		out = append(out, ev)
	}
	return out
}

func isCaptureRef(rb *Runbook, caps map[string]bool, n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return caps[x.Value]
	case *ast.MemberNode:
		prop, ok := x.Property.(*ast.StringNode)
		inner, ok2 := x.Node.(*ast.MemberNode)
		if !ok || !ok2 {
			return false
		}
		id, ok1 := inner.Node.(*ast.IdentifierNode)
		key, ok3 := inner.Property.(*ast.StringNode)
		if !ok1 || !ok3 || id.Value != "steps" {
			return false
		}
		if other := rb.Step(key.Value); other != nil {
			for _, c := range captureNames(other) {
				if c == prop.Value {
					return true
				}
			}
		}
	}
	return false
}

// exprFuncs are the names of functions, not values.
var exprFuncs = map[string]bool{"lines": true, "bytes": true, "percent": true, "num": true, "has": true}

type valueVisitor struct {
	nodes []ast.Node
	inner map[ast.Node]bool // nodes that are part of a longer chain, or callees
}

func (v *valueVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if !exprFuncs[x.Value] && !contains(exprBuiltinFuncs, x.Value) {
			v.nodes = append(v.nodes, x)
		}
	case *ast.MemberNode:
		if !rootedAtIdent(x) {
			return
		}
		if _, ok := x.Property.(*ast.StringNode); !ok {
			v.inner[x] = true // a dynamic key: show the parts
			return
		}
		v.inner[x.Node] = true
		v.nodes = append(v.nodes, x)
	case *ast.CallNode:
		v.inner[x.Callee] = true
	}
}

// exprBuiltinFuncs are expr's own function names that parse as identifiers.
var exprBuiltinFuncs = []string{"int", "float", "string", "len", "trim", "upper", "lower", "split", "abs", "max", "min"}

func rootedAtIdent(m *ast.MemberNode) bool {
	for range 32 {
		switch x := m.Node.(type) {
		case *ast.IdentifierNode:
			return true
		case *ast.MemberNode:
			m = x
		default:
			return false
		}
	}
	return false
}

// captureNames are the values st's captures define: each capture's name and
// its pattern's named groups.
func captureNames(st *Step) []string {
	var out []string
	for _, c := range st.Capture {
		out = append(out, c.Name)
		for _, g := range captureGroups(c) {
			if !contains(builtinNames, g) && g != c.Name {
				out = append(out, g)
			}
		}
	}
	return out
}
