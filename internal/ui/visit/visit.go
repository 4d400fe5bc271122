// Package visit draws one earlier visit of a step, read-only: what ran
// and where, how it ended on each host, what it captured, the decision (or
// answer) and who made it, and the notes. The root pairs it with the
// visit's kept output, scrollable and searchable; nothing here touches the
// session.
package visit

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Title is the first line: "visit 7 of 12 · 12.2 Are errors logged… · read-only".
func Title(v *engine.Visit, st *engine.Step, total int, s styles.Styles, w int) string {
	label := v.Step
	if st != nil {
		label = st.Label()
	}
	t := s.Title.Render(fmt.Sprintf("Visit %d of %d", v.N, total)) + " " + untrusted.SanitizeLine(label)
	return textblock.Line(t+s.Muted.Render(" · read-only"), w)
}

// Lines are the visit's facts, wrapped to w (never cut).
func Lines(v *engine.Visit, st *engine.Step, s styles.Styles, w int) []string {
	return LinesFit(v, st, s, w, 0)
}

// LinesFit is Lines in at most maxLines lines (0: no limit): when the
// facts are longer, the captures and then the command are shortened to
// their first line and a note of what was left out, so the decision and
// some of the output stay in view on a small terminal.
func LinesFit(v *engine.Visit, st *engine.Step, s styles.Styles, w, maxLines int) []string {
	type block struct {
		label string
		lines []string
	}
	var blocks []block
	add := func(label, text string) {
		if text == "" {
			return
		}
		// The label column, then the text wrapped under itself.
		pad := strings.Repeat(" ", 10)
		var out []string
		for i, l := range textblock.WrapLines(text, max(w-10, 10)) {
			if i == 0 {
				l = s.Muted.Render(fmt.Sprintf("%-9s", label)) + " " + l
			} else {
				l = pad + l
			}
			out = append(out, textblock.Line(l, w))
		}
		blocks = append(blocks, block{label, out})
	}
	build := func() []string {
		var out []string
		for _, b := range blocks {
			out = append(out, b.lines...)
		}
		return out
	}

	if st != nil {
		add("kind", string(st.Kind))
	}
	if v.Command != "" {
		cmd := untrusted.SanitizeLine(strings.ReplaceAll(v.Command, "\n", " ⏎ "))
		if v.Edited {
			cmd += s.Warning.Render(" (edited by operator)")
		}
		add("command", s.Command.Render(cmd))
	}
	for _, r := range v.Results {
		add("result", untrusted.SanitizeLine(r.Host)+": "+result(r))
	}
	if v.Polls > 0 && v.Satisfied != nil {
		held := "the condition never held"
		if *v.Satisfied {
			held = "the condition held"
		}
		add("wait", fmt.Sprintf("%d poll(s), %s", v.Polls, held))
	}
	if caps := captures(v); caps != "" {
		add("captures", caps)
	}
	if v.Answer != "" {
		by := ""
		if v.Decision != nil && v.Decision.By != "" {
			by = " (by " + untrusted.SanitizeLine(v.Decision.By) + ")"
		}
		add("answer", s.Decision.Render(untrusted.SanitizeLine(v.Answer))+by)
	}
	if d := v.Decision; d != nil {
		text := s.Muted.Render("by "+untrusted.SanitizeLine(d.By)+": ") + s.Decision.Render("→ "+untrusted.SanitizeLine(d.Explain))
		if d.Reason != "" {
			text += " — " + untrusted.SanitizeLine(d.Reason)
		}
		add("decision", text)
		if d.Expr != "" && d.Expr != "next" && d.Expr != "else" && !strings.HasPrefix(d.Expr, "choice ") {
			add("because", untrusted.SanitizeLine(d.Expr))
		}
	}
	if v.Error != "" {
		add("error", s.Danger.Render(untrusted.SanitizeLine(v.Error)))
	}
	if v.Simulated {
		add("dry run", "simulated, nothing ran")
	}
	for _, n := range v.Notes {
		add("note", untrusted.SanitizeLine(n))
	}
	if !v.Started.IsZero() {
		when := v.Started.UTC().Format("15:04:05Z")
		if !v.Ended.IsZero() {
			when += fmt.Sprintf(", took %s", v.Ended.Sub(v.Started).Round(100_000_000))
		}
		add("at", when)
	}
	total := 0
	for _, b := range blocks {
		total += len(b.lines)
	}
	for _, label := range []string{"captures", "command"} {
		if maxLines <= 0 || total <= maxLines {
			break
		}
		for i, b := range blocks {
			if b.label != label || len(b.lines) <= 2 {
				continue
			}
			cut := min(len(b.lines)-2, total-maxLines)
			keep := len(b.lines) - 1 - cut
			note := textblock.Line(strings.Repeat(" ", 10)+s.Muted.Render(fmt.Sprintf("… %d more lines (a wider terminal shows them; / searches the output)", cut+1)), w)
			blocks[i].lines = append(b.lines[:keep:keep], note)
			total -= cut
		}
	}
	return build()
}

func result(r engine.HostResult) string {
	switch {
	case r.Err != "":
		return "transport failed: " + untrusted.SanitizeLine(r.Err)
	case r.TimedOut:
		return fmt.Sprintf("timed out after %s", r.Duration.Round(100_000_000))
	case r.Signal != "":
		return "killed by signal " + untrusted.SanitizeLine(r.Signal)
	}
	return fmt.Sprintf("exit %d in %s", r.Exit, r.Duration.Round(100_000_000))
}

func captures(v *engine.Visit) string {
	var parts []string
	for _, r := range v.Results {
		for _, k := range engine.SortedKeys(r.Captures) {
			p := untrusted.SanitizeLine(k) + "=" + shortValue(untrusted.SanitizeLine(r.Captures[k]))
			if len(v.Results) > 1 {
				p = untrusted.SanitizeLine(r.Host) + ": " + p
			}
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}

// maxCaptureRunes caps a capture shown in the facts: a table or JSON capture
// (hundreds of bytes) would push the decision off a small screen. The whole
// value is in the journal and the bundle.
const maxCaptureRunes = 60

func shortValue(v string) string {
	if r := []rune(v); len(r) > maxCaptureRunes {
		return string(r[:maxCaptureRunes]) + fmt.Sprintf("… (%d chars)", len(r))
	}
	return v
}
