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
	mu sync.Mutex
	w  io.Writer
	rb *engine.Runbook

	step      string
	hosts     []string
	exits     map[string]string
	captures  map[string]string
	answer    string
	answerBy  string
	done      string
	simulated string
	polls     int
	satisfied bool
	item      string // the for_each item of a called step ("slot 2 of 3: 7")
	until     string // a timed wait's end (wait.until)
}

// NewProgress prints progress for a session over rb to w.
func NewProgress(w io.Writer, rb *engine.Runbook) *Progress {
	return &Progress{w: w, rb: rb}
}

func (p *Progress) reset(step string) {
	p.step, p.hosts = step, nil
	p.exits, p.captures = map[string]string{}, map[string]string{}
	p.answer, p.answerBy, p.done, p.simulated = "", "", "", ""
	p.polls, p.satisfied, p.item, p.until = 0, false, "", ""
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
	if e.Step != p.step && e.Type != engine.EvSessionStart {
		p.reset(e.Step)
	}
	switch e.Type {
	case engine.EvStepEnter:
		p.reset(e.Step)
		p.item = e.Text
	case engine.EvCommand:
		p.addHost(e.Host)
	case engine.EvResult:
		p.addHost(e.Host)
		switch {
		case e.Error != "":
			p.exits[e.Host] = "error"
		case e.TimedOut:
			p.exits[e.Host] = "timed out"
		case e.Signal != "":
			p.exits[e.Host] = "killed by " + e.Signal
		case e.Exit != nil:
			p.exits[e.Host] = fmt.Sprintf("exit %d", *e.Exit)
		}
		if e.Truncated {
			p.exits[e.Host] += fmt.Sprintf(" (output %d bytes, truncated)", e.Bytes)
		}
		for k, v := range e.Captures {
			if _, ok := p.captures[k]; !ok || p.captures[k] == "" {
				p.captures[k] = v
			}
		}
	case engine.EvPoll:
		p.polls, p.satisfied = e.Poll, e.Satisfied
	case engine.EvAnswer:
		p.answer, p.answerBy = e.Answer, e.By
	case engine.EvManualDone:
		p.done = e.By
	case engine.EvSimulated:
		// A skipped fix says per host the exact command it would have run.
		if p.simulated != "" {
			p.simulated += "; "
		}
		p.simulated += e.Text
	case engine.EvDecision:
		if e.Expr == "per_host" { // the section closed: where the hosts went
			p.line(e.Step, "per host", "→ "+clean(p.label(e.Next))+": "+clean(e.Explain))
			break
		}
		p.line(e.Step, p.result(e.Step), p.decision(e))
	case engine.EvInterrupted:
		p.line(e.Step, "INTERRUPTED earlier", clean(e.Text))
	case engine.EvError:
		p.line(e.Step, p.result(e.Step), "error: "+clean(e.Error))
	case engine.EvSessionEnd:
		msg := string(e.Outcome)
		if e.Message != "" {
			msg += ": " + clean(e.Message)
		}
		p.line(e.Step, "end", msg)
	case engine.EvResume:
		fmt.Fprintf(p.w, "resuming at %s\n", clean(p.label(e.Step)))
	case engine.EvWaitUntil:
		// A timed wait can last hours: say so before it starts.
		fmt.Fprintf(p.w, "%s waits until %s\n", clean(p.label(e.Step)), clean(e.Text))
		p.until = e.Text
	}
}

func (p *Progress) addHost(h string) {
	for _, x := range p.hosts {
		if x == h {
			return
		}
	}
	p.hosts = append(p.hosts, h)
}

func (p *Progress) result(step string) string {
	st := p.rb.Step(step)
	var parts []string
	if p.simulated != "" {
		return "SIMULATED: " + clean(p.simulated)
	}
	if p.answer != "" {
		by := "by --answer"
		if p.answerBy == ByPolicy {
			by = "by the auto policy"
		}
		return fmt.Sprintf("answered %q %s", clean(p.answer), by)
	}
	if p.done != "" {
		return "done (--assume-done)"
	}
	if len(p.exits) > 0 {
		seen := map[string]bool{}
		var ex []string
		for _, h := range p.hosts {
			if v, ok := p.exits[h]; ok && !seen[v] {
				seen[v] = true
				ex = append(ex, v)
			}
		}
		parts = append(parts, strings.Join(ex, "/"))
	}
	if st != nil && st.Kind == engine.KindWait && p.until != "" && p.polls == 0 {
		parts = append(parts, "waited until "+p.until)
	} else if st != nil && st.Kind == engine.KindWait {
		state := "not satisfied"
		if p.satisfied {
			state = "satisfied"
		}
		parts = append(parts, fmt.Sprintf("%s after %d polls", state, p.polls))
	}
	keys := make([]string, 0, len(p.captures))
	for k := range p.captures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := p.captures[k]
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		parts = append(parts, clean(k+"="+v))
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
func (p *Progress) line(step, result, decision string) {
	ref, title := "-", step
	if st := p.rb.Step(step); st != nil {
		if st.Ref != "" {
			ref = st.Ref
		}
		title = st.Name()
	}
	if p.item != "" && step == p.step {
		title += " [" + p.item + "]"
	}
	hosts := "-"
	if len(p.hosts) > 0 {
		hosts = strings.Join(p.hosts, ",")
	}
	// result and decision quote the server (an exit-signal name) and the
	// runbook: clean is idempotent, so already-clean parts are unchanged.
	fmt.Fprintf(p.w, "%-5s %s · %s · %s · %s\n", clean(ref), clean(title), clean(hosts), clean(result), clean(decision))
}

// clean makes untrusted text (host output, runbook text) safe for one
// terminal line.
func clean(s string) string { return untrusted.SanitizeLine(s) }
