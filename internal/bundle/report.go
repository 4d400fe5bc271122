package bundle

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// reportModel follows the (already redacted) events and keeps what a person
// needs: the path with what each probe showed, answers and notes. Which
// visit an event belongs to is the session's fold's answer (engine.State).
type reportModel struct {
	fold    *engine.State
	visits  []*visitRep
	lanes   map[string]*visitRep // per-host section: each host's visit in progress
	answers []string
	notes   []string
	errors  []string
}

type visitRep struct {
	n     int // the visit's number in the fold; 0 for events of no visit seen
	step  string
	lane  string // the host whose own path this visit is on (per-host section)
	items []string
	tails map[string]*tailLines // host -> last lines of output
}

// tailLines keeps the last few lines of a stream: "the lines that mattered"
// are nearly always the last ones, and the full output is in the transcript.
type tailLines struct {
	lines   []string
	partial string
}

const reportTail = 12

func (t *tailLines) add(s string) {
	s = t.partial + s
	parts := strings.Split(s, "\n")
	t.partial = parts[len(parts)-1]
	for _, p := range parts[:len(parts)-1] {
		t.lines = append(t.lines, p)
		if len(t.lines) > reportTail {
			t.lines = t.lines[1:]
		}
	}
	if len(t.partial) > 4096 {
		t.partial = t.partial[len(t.partial)-4096:]
	}
}

func (t *tailLines) text() string {
	l := t.lines
	if t.partial != "" {
		l = append(l[:len(l):len(l)], t.partial)
	}
	if len(l) > reportTail {
		l = l[len(l)-reportTail:]
	}
	return strings.Join(l, "\n")
}

// visitFor folds e and returns the visit it belongs to: the fold's, or,
// for events of a visit this report never saw entered (the first events of
// a resumed session), the last one.
func (m *reportModel) visitFor(e engine.Event) *visitRep {
	if m.fold == nil {
		m.fold = engine.NewState("")
	}
	n := m.fold.VisitOf(e)
	m.fold.Apply(e)
	if e.Type == engine.EvStepEnter {
		v, _ := m.fold.InProgress()
		n = v.N
	}
	if n > 0 {
		for i := len(m.visits) - 1; i >= 0; i-- {
			if m.visits[i].n == n {
				return m.visits[i]
			}
		}
		v, _ := m.fold.Visit(n)
		m.visits = append(m.visits, &visitRep{n: n, step: v.Step, tails: map[string]*tailLines{}})
		return m.visits[len(m.visits)-1]
	}
	if len(m.visits) == 0 {
		m.visits = append(m.visits, &visitRep{step: e.Step, tails: map[string]*tailLines{}})
	}
	return m.visits[len(m.visits)-1]
}

func (m *reportModel) add(e engine.Event) {
	if e.Lane != "" {
		// A host's own path: its events go to its own visit, not to
		// whichever host entered a step last. Lanes are sessions of their
		// own: the report's fold (the parent's walk) never sees them.
		if m.lanes == nil {
			m.lanes = map[string]*visitRep{}
		}
		if e.Type == engine.EvStepEnter || m.lanes[e.Lane] == nil {
			v := &visitRep{step: e.Step, lane: e.Lane, tails: map[string]*tailLines{}}
			m.visits = append(m.visits, v)
			m.lanes[e.Lane] = v
		}
		if e.Type != engine.EvStepEnter {
			m.addTo(m.lanes[e.Lane], e)
		}
		return
	}
	m.addTo(m.visitFor(e), e)
}

// addTo adds what e says to visit cur (and to the answers, notes, errors).
func (m *reportModel) addTo(cur *visitRep, e engine.Event) {
	switch e.Type {
	case engine.EvCommand:
		cur.items = append(cur.items, fmt.Sprintf("- on `%s`: %s", inline(e.Host), code(e.Command)))
	case engine.EvOutput:
		v := cur
		t := v.tails[e.Host]
		if t == nil {
			t = &tailLines{}
			v.tails[e.Host] = t
		}
		t.add(e.Data)
	case engine.EvResult:
		v := cur
		line := fmt.Sprintf("- `%s` ", inline(e.Host))
		switch {
		case e.TimedOut:
			line += "timed out"
		case e.Exit != nil:
			line += fmt.Sprintf("exit %d", *e.Exit)
		}
		if e.Signal != "" {
			line += " (signal " + inline(e.Signal) + ")"
		}
		if e.Duration > 0 {
			line += fmt.Sprintf(" in %.1fs", e.Duration)
		}
		if e.Truncated {
			line += fmt.Sprintf(" (printed %d bytes, over the per-step cap: only the tail was kept)", e.Bytes)
		}
		if e.Error != "" {
			line += ": " + inline(e.Error)
		}
		if len(e.Captures) > 0 {
			var cs []string
			for _, k := range engine.SortedKeys(e.Captures) {
				cs = append(cs, fmt.Sprintf("%s=%s", inline(k), code(e.Captures[k])))
			}
			line += "; captured " + strings.Join(cs, ", ")
		}
		v.items = append(v.items, line)
		if t := v.tails[e.Host]; t != nil {
			if txt := t.text(); strings.TrimSpace(txt) != "" {
				v.items = append(v.items, fence(txt, "  "))
			}
			delete(v.tails, e.Host)
		}
	case engine.EvPoll:
		s := "not yet"
		if e.Satisfied {
			s = "satisfied"
		}
		cur.items = append(cur.items, fmt.Sprintf("- poll %d: %s", e.Poll, s))
	case engine.EvDecision:
		txt := e.Explain
		if txt == "" {
			txt = "→ " + e.Next
		}
		line := fmt.Sprintf("- decision (%s): %s", inline(e.By), inline(txt))
		if e.Expr != "" && e.Expr != "next" {
			line += " — " + code(e.Expr)
		}
		cur.items = append(cur.items, line)
	case engine.EvAnswer:
		cur.items = append(cur.items, fmt.Sprintf("- answer: **%s** (%s)", inline(e.Answer), inline(e.By)))
		m.answers = append(m.answers, fmt.Sprintf("- %s: **%s** (%s)", inline(e.Step), inline(e.Answer), inline(e.By)))
	case engine.EvConfirm:
		cur.items = append(cur.items, fmt.Sprintf("- confirmed by %s", inline(e.By)))
	case engine.EvDecline:
		cur.items = append(cur.items, fmt.Sprintf("- declined by %s: %s", inline(e.By), inline(e.Reason)))
	case engine.EvManualDone:
		cur.items = append(cur.items, fmt.Sprintf("- done (%s)", inline(e.By)))
	case engine.EvOverride:
		cur.items = append(cur.items, fmt.Sprintf("- override → %s: %s", inline(e.Next), inline(e.Reason)))
	case engine.EvBack:
		cur.items = append(cur.items, fmt.Sprintf("- went back to %s", inline(e.Next+e.Step)))
	case engine.EvNote:
		m.notes = append(m.notes, fmt.Sprintf("- %s (%s): %s", e.Time.UTC().Format("15:04:05"), inline(e.Step), inline(e.Text)))
	case engine.EvSimulated:
		cur.items = append(cur.items, "- simulated (dry run): "+inline(e.Text+e.Command))
	case engine.EvError:
		cur.items = append(cur.items, "- error: "+inline(e.Error))
		m.errors = append(m.errors, fmt.Sprintf("- %s: %s", inline(e.Step), inline(e.Error)))
	}
}

// inline makes untrusted text safe for one line of markdown: no newlines,
// control characters escaped, markdown punctuation that could restructure
// the document neutralised.
func inline(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f || untrusted.IsHidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case strings.ContainsRune("`*_[]<|#", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code renders text as inline code with a fence longer than any backtick run.
func code(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || untrusted.IsHidden(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	s = b.String()
	ticks := "`"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	return ticks + " " + s + " " + ticks
}

// fence renders a block of untrusted output as a code block that the
// output cannot close.
func fence(s, indent string) string {
	ticks := "```"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	var b strings.Builder
	b.WriteString(indent + ticks + "text\n")
	for _, l := range strings.Split(s, "\n") {
		var lb strings.Builder
		for _, r := range l {
			if (r < 0x20 && r != '\t') || r == 0x7f || untrusted.IsHidden(r) {
				fmt.Fprintf(&lb, `\u%04x`, r)
			} else {
				lb.WriteRune(r)
			}
		}
		b.WriteString(indent + lb.String() + "\n")
	}
	b.WriteString(indent + ticks)
	return b.String()
}

// report renders report.md for a person.
func (w *Writer) report(m *Manifest) []byte {
	rb := w.opts.Runbook
	t := &w.ev
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s\n\n", inline(rb.Title))
	p("- runbook: `%s` (sha256 %s)\n", inline(rb.ID), m.Runbook.SHA256)
	if rb.Source != "" {
		p("- source: %s\n", inline(rb.Source))
	}
	p("- started: %s, ended: %s\n", m.Started.Format("2006-01-02 15:04:05Z"), m.Ended.Format("2006-01-02 15:04:05Z"))
	outcome := m.Outcome
	if outcome == "" {
		outcome = "(none)"
	}
	p("- outcome: **%s**", inline(outcome))
	if m.Message != "" {
		p(" — %s", inline(m.Message))
	}
	p("\n- bundle: **%s**", m.Status)
	if len(m.Incomplete) > 0 {
		p(" (%s)", inline(strings.Join(m.Incomplete, "; ")))
	}
	if len(m.Partial) > 0 {
		p(" (not collected: %s)", inline(strings.Join(m.Partial, "; ")))
	}
	if m.Redacted != RedactedAll {
		p(" — **%s**", m.Redacted)
	}
	if m.Pseudonymised {
		p("\n- pseudonymised: IP addresses and host names are stand-ins (198.18.x.x, 2001:db8::N, hostN.domainN.invalid), the same one for the same value throughout; the operator kept the map")
	}
	p("\n")
	for _, tg := range m.Targets {
		p("- target %s: `%s`", inline(tg.Role), inline(tg.Name))
		if tg.HostKey != "" {
			p(" (host key %s %s", inline(tg.HostKeyType), inline(tg.HostKey))
			if tg.HostKeyTrust != "" {
				p(", trusted by %s", inline(tg.HostKeyTrust))
				if tg.HostKeyTrustSource != "" {
					p(" %s", inline(tg.HostKeyTrustSource))
				}
			}
			p(")")
		}
		if tg.ClockSkew != nil {
			p(" (clock skew %+.1fs)", *tg.ClockSkew)
		}
		p("\n")
	}

	p("\n## Path taken\n\n")
	if len(t.rep.visits) == 0 {
		p("No step was entered.\n")
	}
	for i, v := range t.rep.visits {
		title := inline(v.step)
		if st := rb.Step(v.step); st != nil && v.step != "" {
			if st.Ref == "" {
				title = inline(st.Name()) + " (`" + inline(st.ID) + "`)"
			} else {
				title = inline(st.Ref) + " " + inline(st.Name()) + " (`" + inline(st.ID) + "`)"
			}
		}
		if v.lane != "" {
			title += " — host `" + inline(v.lane) + "`"
		}
		p("%d. %s\n", i+1, title)
		for _, it := range v.items {
			for _, l := range strings.Split(it, "\n") {
				p("   %s\n", l)
			}
		}
		// output of commands that never reported a result
		for _, h := range engine.SortedKeys(v.tails) {
			if txt := v.tails[h].text(); strings.TrimSpace(txt) != "" {
				p("   - `%s` output (no result):\n", inline(h))
				for _, l := range strings.Split(fence(txt, "  "), "\n") {
					p("   %s\n", l)
				}
			}
		}
	}
	if len(m.Divergence) > 0 {
		p("\n## Per-host paths\n\n")
		for _, d := range m.Divergence {
			state := ""
			if d.Open {
				state = " (still apart: the session stopped inside; each path ends where its host is)"
			}
			p("From `%s` to `%s`%s: %s\n\n", inline(d.Step), inline(d.Join), state, inline(d.Line))
			p("| hosts | path | which |\n|---|---|---|\n")
			for _, g := range d.Groups {
				p("| %d | %s | %s |\n", len(g.Hosts), cellText(engine.PathText(g.Steps)), cellText(strings.Join(g.Hosts, ", ")))
			}
			p("\n")
		}
	}
	if len(t.rep.answers) > 0 {
		p("\n## Answers\n\n%s\n", strings.Join(t.rep.answers, "\n"))
	}
	if len(t.rep.notes) > 0 {
		p("\n## Notes\n\n%s\n", strings.Join(t.rep.notes, "\n"))
	}

	var okItems, badItems []string
	for _, e := range w.entries {
		what := e.Path
		if e.Kind == KindCommand {
			what = e.Command
		}
		line := fmt.Sprintf("- %s `%s` %s %s", e.Kind, inline(e.Host), code(what), e.Status)
		if e.Member != "" {
			line += fmt.Sprintf(" → `%s` (%d bytes", inline(e.Member), e.BytesAfter)
			if e.Status == StatusTruncated {
				line += fmt.Sprintf(", the tail of %d", e.BytesBefore)
			}
			line += ")"
		}
		if e.Exit != nil {
			line += fmt.Sprintf(", exit %d", *e.Exit)
		}
		if e.Error != "" {
			line += ": " + inline(e.Error)
		}
		if e.Redaction != "" && e.Redaction != "applied" && e.Redaction != "disabled" {
			line += " — **" + inline(e.Redaction) + "**"
		}
		if e.Status == StatusOK || e.Status == StatusTruncated {
			okItems = append(okItems, line)
		} else {
			badItems = append(badItems, line)
		}
	}
	p("\n## Collected\n\n")
	if len(okItems) == 0 {
		p("Nothing.\n")
	} else {
		p("%s\n", strings.Join(okItems, "\n"))
	}
	if len(badItems) > 0 {
		p("\n## Not collected or failed\n\n%s\n", strings.Join(badItems, "\n"))
	}
	if len(t.rep.errors) > 0 {
		p("\n## Errors\n\n%s\n", strings.Join(t.rep.errors, "\n"))
	}
	body := b.String()
	if w.red != nil {
		// Built from redacted parts; one more pass catches what a remote
		// path or a runbook text might carry. The redaction summary below
		// holds only rule names and counts, and is left out of the pass
		// (a line like "key-value-secret: 2" would match its own rule).
		body, _ = w.red.String(body)
	}
	b.Reset()
	b.WriteString(body)
	p("\n## Redaction\n\n")
	if w.red == nil {
		p("**Disabled (--no-redact): this bundle may contain secrets.**\n")
	} else {
		totals := map[string]int{}
		for k, v := range w.redTotals {
			totals[k] += v
		}
		for k, v := range t.hits.Totals {
			totals[k] += v
		}
		if len(totals) == 0 {
			p("Nothing matched a redaction rule.\n")
		}
		keys := engine.SortedKeys(totals)
		sort.Strings(keys)
		for _, k := range keys {
			p("- %s: %d masked\n", inline(k), totals[k])
		}
		for _, g := range w.redGaps {
			p("- `%s`: %s\n", inline(g.Member), inline(g.Reason))
		}
		p("\nDetails (file, line, rule, count; never the values) are in `%s`.\n", RedactionsName)
	}
	return []byte(b.String())
}

// cellText is inline text for a markdown table cell.
func cellText(s string) string { return strings.ReplaceAll(inline(s), "|", "\\|") }
