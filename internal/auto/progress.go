package auto

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Progress prints one line per step for people watching an unattended run
// (stderr), from session events: ref, title, hosts, result, decision.
//
//	1     Is the filesystem nearly full? · local · exit 0, used=12 · else → 2 Are inodes nearly exhausted?
//
// Everything that came from a host or a runbook file is sanitised first,
// so a hostile probe output cannot drive the terminal.
type Progress struct {
	mu   sync.Mutex
	w    io.Writer
	rb   *engine.Runbook
	fold *engine.State // the walk as the events tell it (engine.State)
	// until is a timed wait's end (wait.until), by visit.
	until map[int]string
}

// NewProgress prints progress for a session over rb to w.
func NewProgress(w io.Writer, rb *engine.Runbook) *Progress {
	return &Progress{w: w, rb: rb, fold: engine.NewState(""), until: map[int]string{}}
}

// Seed folds the events of a resumed session's journal without printing
// them, so the lines after the resume know the visits before it.
func (p *Progress) Seed(evs []engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		p.fold.Apply(e)
	}
}

// Event consumes one session event. It is safe for concurrent use.
func (p *Progress) Event(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Lane != "" {
		// One host's own path in a per-host section: the section's line
		// (its decision) sums the hosts up; a line per host and step would
		// bury it, and lanes run at once, interleaved.
		return
	}
	if e.Type == engine.EvRollout {
		fmt.Fprintf(p.w, "  rollout of %s: %s\n", clean(p.label(e.Step)), clean(e.Text))
		return
	}
	n := p.fold.VisitOf(e)
	p.fold.Apply(e)
	switch e.Type {
	case engine.EvCommand, engine.EvOutput, engine.EvResult:
		return // a group step's hosts: nothing to print, and no copy of their results to make
	}
	v, _ := p.fold.Visit(n) // the visit e is about (empty when none)
	switch e.Type {
	case engine.EvDecision:
		if e.Expr == "per_host" { // the section closed: where the hosts went
			p.line(e.Step, v, "per host", "→ "+clean(p.label(e.Next))+": "+clean(e.Explain))
			break
		}
		p.line(e.Step, v, p.result(e.Step, v), p.decision(e))
	case engine.EvInterrupted:
		p.line(e.Step, v, "INTERRUPTED earlier", clean(e.Text))
	case engine.EvError:
		p.line(e.Step, v, p.result(e.Step, v), "error: "+clean(e.Error))
	case engine.EvSessionEnd:
		msg := string(e.Outcome)
		if e.Message != "" {
			msg += ": " + clean(e.Message)
		}
		p.line(e.Step, v, "end", msg)
	case engine.EvResume:
		fmt.Fprintf(p.w, "resuming at %s\n", clean(p.label(e.Step)))
	case engine.EvWaitUntil:
		// A timed wait can last hours: say so before it starts.
		fmt.Fprintf(p.w, "%s waits until %s\n", clean(p.label(e.Step)), clean(e.Text))
		p.until[n] = e.Text
	}
}

// exit is one host's result in a few words.
func exit(r engine.HostResult) string {
	var s string
	switch {
	case r.Err != "":
		s = "error"
	case r.TimedOut:
		s = "timed out"
	case r.Signal != "":
		s = "killed by " + r.Signal
	case r.Exit >= 0:
		s = fmt.Sprintf("exit %d", r.Exit)
	}
	if r.Truncated {
		s += fmt.Sprintf(" (output %d bytes, truncated)", r.Bytes)
	}
	return s
}

func (p *Progress) result(step string, v engine.Visit) string {
	st := p.rb.Step(step)
	var parts []string
	if v.Simulated && len(v.Would) > 0 {
		// A skipped fix says per host the exact command it would have run.
		return "SIMULATED: " + clean(strings.Join(v.Would, "; "))
	}
	if v.Answer != "" {
		by := "by --answer"
		if v.AnswerBy == ByPolicy {
			by = "by the auto policy"
		}
		return fmt.Sprintf("answered %q %s", clean(v.Answer), by)
	}
	if v.DoneBy != "" {
		return "done (--assume-done)"
	}
	if len(v.Results) > 0 {
		seen := map[string]bool{}
		var ex []string
		for _, r := range v.Results {
			if x := exit(r); x != "" && !seen[x] {
				seen[x] = true
				ex = append(ex, x)
			}
		}
		parts = append(parts, strings.Join(ex, "/"))
	}
	if until := p.until[v.N]; st != nil && st.Kind == engine.KindWait && until != "" && v.Polls == 0 && v.N > 0 {
		parts = append(parts, "waited until "+until)
	} else if st != nil && st.Kind == engine.KindWait {
		state := "not satisfied"
		if v.Satisfied != nil && *v.Satisfied {
			state = "satisfied"
		}
		parts = append(parts, fmt.Sprintf("%s after %d polls", state, v.Polls))
	}
	captures := map[string]string{}
	for _, r := range v.Results {
		for k, c := range r.Captures {
			if captures[k] == "" {
				captures[k] = c
			}
		}
	}
	keys := make([]string, 0, len(captures))
	for k := range captures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := captures[k]
		if len(c) > 40 {
			c = c[:37] + "..."
		}
		parts = append(parts, clean(k+"="+c))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func (p *Progress) decision(e engine.Event) string {
	why := e.Expr
	switch {
	case strings.HasPrefix(why, "choice "):
		why = ""
	case why == "next" || why == "else" || why == "on_error":
	case why == "override":
		why = "override: " + e.Reason
	case why != "":
		why = "if " + why
	}
	out := "→ " + p.label(e.Next)
	if why != "" {
		out += " (" + why + ")"
	}
	return clean(out)
}

func (p *Progress) label(id string) string {
	if st := p.rb.Step(id); st != nil {
		return st.Label()
	}
	return id
}

// line prints: ref, title, hosts, result, decision.
func (p *Progress) line(step string, v engine.Visit, result, decision string) {
	ref, title := "-", step
	if st := p.rb.Step(step); st != nil {
		if st.Ref != "" {
			ref = st.Ref
		}
		title = st.Name()
	}
	if v.ItemLabel != "" && v.Step == step {
		title += " [" + v.ItemLabel + "]"
	}
	hosts := "-"
	if len(v.Hosts) > 0 {
		hosts = shortHostList(v.Hosts)
	} else if len(v.Results) > 0 {
		var hs []string
		for _, r := range v.Results {
			hs = append(hs, r.Host)
		}
		hosts = shortHostList(hs)
	}
	// result and decision quote the server (an exit-signal name) and the
	// runbook: clean is idempotent, so already-clean parts are unchanged.
	fmt.Fprintf(p.w, "%-5s %s · %s · %s · %s\n", clean(ref), clean(title), clean(hosts), clean(result), clean(decision))
}

// maxListedHosts is how many hosts a progress line names one by one; a
// longer group is named by its first and last hosts and its size, so a
// 1 000-host step stays one readable line (the JSON and the bundle name
// every host).
const maxListedHosts = 6

func shortHostList(hs []string) string {
	if len(hs) <= maxListedHosts {
		return strings.Join(hs, ",")
	}
	return fmt.Sprintf("%s … %s (%d hosts)", strings.Join(hs[:3], ","), hs[len(hs)-1], len(hs))
}

// clean makes untrusted text (host output, runbook text) safe for one
// terminal line.
func clean(s string) string { return untrusted.SanitizeLine(s) }
