package engine

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
		vals := exprValues(s.rb, st, src, env)
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
