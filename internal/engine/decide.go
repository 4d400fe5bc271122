package engine

// Choosing the next step: evaluating branches, the facts and explanation
// shown with a decision, and moving along the route.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// decide picks the route out of a probe step and, unless in step mode,
// follows it.
func (s *Session) decide(st *Step, env Env) error {
	d, err := s.choose(st, env)
	if err != nil {
		return s.fail(st, err)
	}
	d.Checks = s.checks(st, env, d)
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain, Checks: d.Checks})
	if s.opts.StepMode {
		s.pending = &Prompt{Kind: PromptDecided, Step: st, Decision: d, Hosts: s.promptHosts(st)}
	}
	return nil
}

func (s *Session) promptHosts(st *Step) []Host {
	if c := st.Command(); c != nil {
		return s.hosts(c.On)
	}
	return s.collectHosts(st)
}

func (s *Session) choose(st *Step, env Env) (*Decision, error) {
	facts := s.facts(st, env)
	for _, b := range st.Branches {
		// An expression that cannot be evaluated is not false: the step
		// stops with an error that shows what it saw (failure.go).
		ok, err := s.evalBool(st, b.If, env)
		if err != nil {
			return nil, err
		}
		if ok {
			return &Decision{Next: b.Goto, Expr: b.If, By: "auto", Explain: explain(facts, b.If, s.label(b.Goto))}, nil
		}
	}
	switch {
	case st.Else != "":
		return &Decision{Next: st.Else, Expr: "else", By: "auto", Explain: explain(facts, "else", s.label(st.Else))}, nil
	case st.Next != "":
		return &Decision{Next: st.Next, Expr: "next", By: "auto", Explain: explain(facts, "next", s.label(st.Next))}, nil
	}
	return nil, fmt.Errorf("step %s: no branch matched and the step has no else", st.ID)
}

// evalBool evaluates a branch or until expression; any failure is an *ExprError.
func (s *Session) evalBool(st *Step, src string, env Env) (bool, error) {
	p, err := s.program(src, env)
	if err == nil {
		var ok bool
		if ok, err = p.EvalBool(env); err == nil {
			return ok, nil
		}
	}
	return false, s.exprError(st, src, env, err)
}

func (s *Session) program(src string, env Env) (*Program, error) {
	if p, ok := s.compiled[src]; ok {
		return p, nil
	}
	// Compile against the runtime env: it is authoritative and values such as
	// captures are dynamic. A name with no value (a capture that did not
	// match) has no type to check at compile time; it is nil when the
	// expression runs, so has(x) && int(x) > 1 works and int(x) alone fails
	// at run time with the values shown (names themselves were checked by lint).
	p, err := compileRuntimeExpr(src, env)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// facts renders the values a decision was made on: "exit 0, used=93".
func (s *Session) facts(st *Step, env Env) string {
	var parts []string
	results, _ := env["results"].([]any)
	// perHost appends " (h1 v1, h2 v2)" when the hosts of a group disagree:
	// divergence is shown, not hidden behind the aggregate.
	perHost := func(key string, show func(any) string) string {
		if len(results) < 2 {
			return ""
		}
		var vals []string
		first, differ := "", false
		for i, r := range results {
			m, _ := r.(map[string]any)
			v := show(m[key])
			if i == 0 {
				first = v
			}
			differ = differ || v != first
			vals = append(vals, fmt.Sprintf("%v %s", m["host"], v))
		}
		if !differ {
			return ""
		}
		return " (" + strings.Join(vals, ", ") + ")"
	}
	if _, ok := env["exit"]; ok && st.Kind != KindWait {
		parts = append(parts, fmt.Sprintf("exit %v", env["exit"])+perHost("exit", func(v any) string { return fmt.Sprint(v) }))
	}
	if st.Kind == KindWait {
		parts = append(parts, fmt.Sprintf("%v after %v polls", map[bool]string{true: "satisfied", false: "not satisfied"}[env["satisfied"] == true], env["polls"]))
	}
	for _, c := range st.Capture {
		parts = append(parts, c.Name+"="+factOf(env[c.Name])+perHost(c.Name, factOf))
	}
	return strings.Join(parts, ", ")
}

// factOf is factValue for a value that may be missing (a capture that did not
// match). A table's rows are counted (rows=[10 rows]); other lists and
// objects are shown as JSON, never in Go's map syntax.
func factOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "<no match>"
	case []any:
		rows := len(x) > 0
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				rows = false
				break
			}
		}
		if rows {
			if len(x) == 1 {
				return "[1 row]"
			}
			return fmt.Sprintf("[%d rows]", len(x))
		}
		if b, err := json.Marshal(x); err == nil {
			return factValue(string(b))
		}
	case map[string]any:
		if b, err := json.Marshal(x); err == nil {
			return factValue(string(b))
		}
	}
	return factValue(toString(v))
}

// factValue shows a value in an Explain line: short plain words bare
// (used=93), anything else quoted so that empty values, spaces, commas and
// control characters cannot blur the line; long values are cut on a rune
// boundary.
func factValue(v string) string {
	if r := []rune(v); len(r) > 24 {
		v = string(r[:24]) + "…"
	}
	plain := v != ""
	for _, r := range v {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-/%+@", r) {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	return strconv.Quote(v)
}

func explain(facts, why, target string) string {
	if facts == "" {
		return why + " → " + target
	}
	return facts + ": " + why + " → " + target
}

func (s *Session) label(id string) string {
	if st := s.rb.Step(id); st != nil {
		return st.Label()
	}
	return id
}

// route leaves st by d: the decision event ends the visit and moves the
// walk to d.Next (apply).
func (s *Session) route(st *Step, d *Decision) {
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain, Reason: d.Reason})
}
