// Package explain says why a visit went where it went: the expression each
// test evaluated, in order, every value it read, which one held and the
// route taken, and who decided (the engine, the operator's answer, an
// override and its reason). Lines is plain text, sanitised, so the same
// words are drawn on screen and copied to the clipboard; View styles them.
package explain

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Label names a step for people ("6 Is the disk full?"); the root passes
// the runbook's.
type Label func(id string) string

// Lines is the explanation of v's decision as plain text, one fact a line,
// every value sanitised (host output and runbook text are untrusted).
func Lines(v *engine.Visit, st *engine.Step, label Label) []string {
	clean := untrusted.SanitizeLine
	name := v.Step
	if st != nil {
		name = label(st.ID)
	}
	out := []string{fmt.Sprintf("Why visit %d (%s) went where it went", v.N, clean(name))}
	d := v.Decision
	if d == nil {
		switch {
		case v.Error != "":
			out = append(out, "no decision: the step stopped with an error", "  "+clean(v.Error))
		default:
			out = append(out, "no decision yet: this visit has not chosen a route")
		}
		return out
	}
	to := clean(label(d.Next))
	switch {
	case d.By == "override":
		out = append(out, "route:  → "+to, "by:     the operator, overriding the runbook", "reason: "+clean(d.Reason))
	case v.Answer != "" || strings.HasPrefix(d.Expr, "choice "):
		q := ""
		if st != nil && st.Ask != "" {
			q = clean(strings.Join(strings.Fields(st.Ask), " "))
		}
		if q != "" {
			out = append(out, "question: "+q)
		}
		out = append(out, fmt.Sprintf("answer:   %q", clean(v.Answer)), "by:       "+answeredBy(d.By), "route:    → "+to)
	case d.By == "on_error":
		out = append(out, "route:  → "+to+" (the step's on_error)", "why:    the transport failed")
		if v.Error != "" {
			out = append(out, "        "+clean(v.Error))
		}
	default:
		out = append(out, "route:   → "+to, "by:      "+who(d.By))
		if d.Explain != "" {
			out = append(out, "summary: "+clean(d.Explain))
		}
		out = append(out, checks(st, d)...)
	}
	for _, n := range v.Notes {
		out = append(out, "note:   "+clean(n))
	}
	return out
}

func who(by string) string {
	switch by {
	case "auto":
		return "the runbook (automatic decision)"
	case "operator":
		return "the operator"
	case "flag":
		return "a command-line flag (--answer, --allow-fix, --assume-done)"
	case "":
		return "unknown"
	}
	return untrusted.SanitizeLine(by)
}

func answeredBy(by string) string {
	if by == "auto" {
		return "the step's auto: policy (unattended run)"
	}
	return who(by)
}

// checks lists the tests in order with their values, then what was not
// tested: the branches after the one that held, or the fallback.
func checks(st *engine.Step, d *engine.Decision) []string {
	clean := untrusted.SanitizeLine
	if len(d.Checks) == 0 {
		switch d.Expr {
		case "next", "else", "":
			if st != nil && len(st.Branches) == 0 && (st.Wait == nil || st.Wait.Until == "") {
				return []string{"tested:  nothing: the step always goes to its next"}
			}
		}
		if d.Expr != "" && d.Expr != "next" && d.Expr != "else" {
			return []string{"held:    " + clean(d.Expr), "(the values each test read were not recorded: the session is older than this view)"}
		}
		return []string{"(the values each test read were not recorded: the session is older than this view)"}
	}
	out := []string{"tested, in order:"}
	held := false
	for _, c := range d.Checks {
		mark := "✗ false"
		if c.Held {
			mark = "✓ true "
		}
		what := clean(c.Expr)
		if c.Until {
			what = "until " + what + " (at the last poll)"
		} else if c.Held {
			held = true
		}
		out = append(out, "  "+mark+"  "+what)
		if len(c.Values) == 0 {
			out = append(out, "             (reads no value)")
		}
		for _, v := range c.Values {
			line := "             " + clean(v.Name) + " = " + clean(v.Value)
			if v.Capture {
				line += "  (capture)"
			}
			out = append(out, line)
		}
	}
	if !held {
		switch d.Expr {
		case "else":
			out = append(out, "  no branch held: else")
		case "next":
			out = append(out, "  no branch held: next")
		}
	}
	return out
}

// ExprError explains an expression that could not be evaluated: what it
// was, why, and every value it read.
func ExprError(e *engine.ExprError) []string {
	clean := untrusted.SanitizeLine
	out := []string{"could not evaluate (the step waits for you):", "  ✗ error  " + clean(e.Expr), "  reason:  " + clean(e.Reason)}
	for _, v := range e.Values {
		line := "             " + clean(v.Name) + " = " + clean(v.Value)
		if v.Capture {
			line += "  (capture)"
		}
		out = append(out, line)
	}
	return out
}

// Text is Lines joined for the clipboard or a file.
func Text(lines []string) string { return strings.Join(lines, "\n") + "\n" }

// View draws lines wrapped to w, the first as a title and the rest with
// their marks coloured.
func View(lines []string, s styles.Styles, w int) []string {
	var out []string
	for i, l := range lines {
		var st = s.Muted
		switch {
		case i == 0:
			st = s.Title
		case strings.Contains(l, "✓ true"):
			st = s.Success
		case strings.Contains(l, "✗ false"), strings.Contains(l, "✗ error"):
			st = s.Danger
		case strings.HasPrefix(l, "route:"):
			st = s.Decision
		case strings.HasPrefix(l, "             "):
			st = s.Info
		}
		// A wrapped line goes on under its own indentation, never cut.
		pad := strings.Repeat(" ", min(len(l)-len(strings.TrimLeft(l, " "))+2, w/2))
		wrapped := textblock.WrapLines(l, max(w, 10))
		if len(wrapped) > 1 {
			rest := textblock.WrapLines(strings.Join(wrapped[1:], " "), max(w-len(pad), 10))
			wrapped = wrapped[:1]
			for _, r := range rest {
				wrapped = append(wrapped, pad+strings.TrimLeft(r, " "))
			}
		}
		for _, wl := range wrapped {
			out = append(out, st.Render(textblock.Line(wl, w)))
		}
	}
	return out
}
