package auto

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Outcome of an unattended run.
type Outcome string

const (
	Resolved    Outcome = "resolved"
	Escalated   Outcome = "escalated"
	Aborted     Outcome = "aborted"
	NeedsHuman  Outcome = "needs-human"
	Failed      Outcome = "failed"
	Interrupted Outcome = "interrupted"
)

// Exit codes, documented in README, `runbook run --help` and docs/automation.md.
const (
	ExitResolved    = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitEscalated   = 3
	ExitNeedsHuman  = 4
	ExitAborted     = 5
	ExitInterrupted = 130
)

// ExitCode maps an outcome to the process exit code.
func (o Outcome) ExitCode() int {
	switch o {
	case Resolved:
		return ExitResolved
	case Escalated:
		return ExitEscalated
	case NeedsHuman:
		return ExitNeedsHuman
	case Aborted:
		return ExitAborted
	case Interrupted:
		return ExitInterrupted
	}
	return ExitFailure
}

// Policy is what the operator declared in advance.
type Policy struct {
	Answers          map[string]string            // step id or ref -> answer (--answer, --answers)
	AllowFix         bool                         // --allow-fix
	AllowDestructive bool                         // --allow-destructive
	AssumeDone       map[string]bool              // manual steps (--assume-done)
	Inputs           map[string]map[string]string // fix step id or ref -> input values
	// DryRun: the session simulates fixes, so they are confirmed without
	// --allow-fix (nothing runs); they still need their inputs.
	DryRun bool
}

// Who answered, as recorded in events and the journal.
const (
	ByFlag   = "flag" // --answer, --answers, --assume-done, --allow-fix
	ByPolicy = "auto" // the step's declared auto policy
)

// Result is the outcome of an unattended run: what `--output json` prints.
type Result struct {
	Outcome  Outcome     `json:"outcome"`
	ExitCode int         `json:"exit_code"`
	Runbook  string      `json:"runbook"`
	Title    string      `json:"title"`
	Session  string      `json:"session,omitempty"` // id for `runbook resume`
	Journal  string      `json:"journal,omitempty"` // path of the session journal
	Resumed  bool        `json:"resumed,omitempty"`
	DryRun   bool        `json:"dry_run,omitempty"`
	Message  string      `json:"message,omitempty"` // the end step's message
	Path     []PathEntry `json:"path"`
	Started  time.Time   `json:"started"`
	Ended    time.Time   `json:"ended"`
	Duration float64     `json:"duration"`          // seconds
	Stopped  *Stop       `json:"stopped,omitempty"` // needs-human: where and why
	Errors   []string    `json:"errors,omitempty"`
	Bundle   string      `json:"bundle,omitempty"`
	// Divergence: every pass through a per-host section, each host's path
	// and the hosts grouped by it.
	Divergence []engine.SectionPaths `json:"divergence,omitempty"`
	// PseudonymMap is the private map of a pseudonymised bundle.
	PseudonymMap string `json:"pseudonym_map,omitempty"`
}

// Stop says where an unattended run needed a human.
type Stop struct {
	Step        string   `json:"step"`
	Ref         string   `json:"ref,omitempty"`
	Kind        string   `json:"kind"` // ask, manual, fix, probe (did not run properly), expression (could not be evaluated), transport
	Question    string   `json:"question"`
	Choices     []string `json:"choices,omitempty"`
	Reason      string   `json:"reason"`
	Interrupted bool     `json:"interrupted,omitempty"` // the step was cut off in an earlier process
	// Expression stops: the expression and the values it saw.
	Expr   string             `json:"expr,omitempty"`
	Values []engine.ExprValue `json:"values,omitempty"`
}

// PathEntry is one visit in the path taken, in visit order.
type PathEntry struct {
	Step        string            `json:"step"`
	Ref         string            `json:"ref,omitempty"`
	Title       string            `json:"title,omitempty"`
	Kind        string            `json:"kind"`
	Hosts       []string          `json:"hosts,omitempty"`
	Command     string            `json:"command,omitempty"`
	Results     []HostResult      `json:"results,omitempty"`
	Answer      string            `json:"answer,omitempty"`
	Decision    *engine.Decision  `json:"decision,omitempty"`
	Simulated   bool              `json:"simulated,omitempty"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Started     time.Time         `json:"started"`
	Ended       time.Time         `json:"ended,omitzero"`
	Duration    float64           `json:"duration"` // seconds
	Notes       []string          `json:"notes,omitempty"`
	Error       string            `json:"error,omitempty"`
	Paths       []engine.HostPath `json:"paths,omitempty"` // a per_host step: each host's path through its section
}

// HostResult is what one host's command produced, as the Result reports it.
type HostResult struct {
	Host     string            `json:"host"`
	Exit     int               `json:"exit"` // -1 when there is none (signal, timeout, transport error)
	Signal   string            `json:"signal,omitempty"`
	TimedOut bool              `json:"timed_out,omitempty"`
	Duration float64           `json:"duration"`         // seconds
	Stdout   string            `json:"stdout,omitempty"` // last 4 KiB
	Stderr   string            `json:"stderr,omitempty"` // last 4 KiB
	Captures map[string]string `json:"captures,omitempty"`
	Error    string            `json:"error,omitempty"` // transport failure
}

// maxResultOutput bounds the stdout/stderr tail per host in a Result; the
// full output is in the journal and the bundle.
const maxResultOutput = 4096

// Run walks the session to an end or to a point where a human is needed.
// It prints nothing: progress comes from events (Progress), the account is
// the Result.
func Run(ctx context.Context, s *engine.Session, pol Policy) *Result {
	rb := s.Runbook()
	res := &Result{Runbook: rb.ID, Title: rb.Title, Started: time.Now()}
	defer func() {
		res.Ended = time.Now()
		res.Duration = res.Ended.Sub(res.Started).Seconds()
		res.Path = Path(s)
		res.Divergence = s.Divergences()
		res.ExitCode = res.Outcome.ExitCode()
	}()
	for range 100000 {
		p, err := s.Advance(ctx)
		if err != nil {
			if ctx.Err() != nil {
				res.Outcome = Interrupted
				res.Errors = append(res.Errors, "interrupted: "+context.Cause(ctx).Error())
				return res
			}
			return fail(res, err)
		}
		st := p.Step
		switch p.Kind {
		case engine.PromptEnd:
			res.Message = p.Message
			switch p.Outcome {
			case engine.OutcomeResolved:
				res.Outcome = Resolved
			case engine.OutcomeEscalated:
				res.Outcome = Escalated
			default:
				res.Outcome = Aborted
			}
			return res
		case engine.PromptRun, engine.PromptDecided:
			if err := s.Proceed(); err != nil {
				return fail(res, err)
			}
		case engine.PromptAsk:
			if st.Kind == engine.KindFix { // a rollout stopped: its errors passed max_errors
				answer := lookup(pol.Answers, st)
				if answer == "" {
					return needsHuman(res, s, st, "rollout", p.Text, p.Choices,
						"a human decides whether the rollout goes on; answer with --answer "+st.ID+"=continue (or stop)")
				}
				if err := s.Answer(answer, ByFlag); err != nil {
					return fail(res, err)
				}
				continue
			}
			if p.Section != nil {
				// --answer STEP@HOST=CHOICE: some hosts of a per-host
				// section answered apart, before the step-wide answer.
				if c, hosts := hostAnswers(pol.Answers, st, p.Hosts); len(hosts) > 0 {
					if err := s.Select(hosts); err != nil {
						return fail(res, err)
					}
					if err := s.Answer(c, ByFlag); err != nil {
						return fail(res, err)
					}
					continue
				}
			}
			answer, by, ok := lookup(pol.Answers, st), ByFlag, true
			if answer == "" {
				answer, ok, err = s.AutoAnswer(st)
				if err != nil {
					// The policy could not answer: that is not an answer either.
					return needsHuman(res, s, st, "ask", st.Ask, p.Choices,
						"the auto policy could not be evaluated ("+err.Error()+"); answer with --answer "+st.ID+"=CHOICE ("+strings.Join(p.Choices, "|")+")")
				}
				by = ByPolicy
			}
			if !ok {
				reason := "the runbook says a human must decide (auto: stop)"
				if strings.TrimSpace(st.Auto) == "" {
					reason = "the step declares no auto answer"
				}
				hint := reason + "; answer with --answer " + st.ID + "=CHOICE (" + strings.Join(p.Choices, "|") + ")"
				if p.Section != nil {
					hint += ", or one host apart with --answer " + st.ID + "@HOST=CHOICE (" + hostList(p.Hosts) + ")"
				}
				return needsHuman(res, s, st, "ask", p.Text, p.Choices, hint)
			}
			if err := s.Answer(answer, by); err != nil {
				return fail(res, err)
			}
		case engine.PromptManual:
			answer := lookup(pol.Answers, st)
			if len(st.Choices) > 0 {
				if answer == "" {
					return needsHuman(res, s, st, "manual", p.Text, p.Choices,
						"manual step with choices: answer with --answer "+st.ID+"=CHOICE ("+strings.Join(p.Choices, "|")+")")
				}
				if err := s.Answer(answer, ByFlag); err != nil {
					return fail(res, err)
				}
				continue
			}
			if !pol.AssumeDone[st.ID] && !(st.Ref != "" && pol.AssumeDone[st.Ref]) && !strings.EqualFold(answer, "done") {
				return needsHuman(res, s, st, "manual", p.Text, nil,
					"manual step: do it, then pass --assume-done "+st.ID)
			}
			if err := s.Done(ByFlag); err != nil {
				return fail(res, err)
			}
		case engine.PromptConfirm:
			note := ""
			if s.Interrupted() {
				note = " (it was interrupted in an earlier run and may have run in part: check before allowing it again)"
			}
			if !pol.AllowFix && !pol.DryRun {
				reason := "fix refused: pass --allow-fix to run it" + note
				_ = s.Decline(reason, ByPolicy)
				return needsHuman(res, s, st, "fix", p.Command, nil, reason)
			}
			if st.Fix.Destructive && !pol.AllowDestructive && !pol.DryRun {
				reason := "destructive fix refused: pass --allow-fix --allow-destructive to run it" + note
				_ = s.Decline(reason, ByPolicy)
				return needsHuman(res, s, st, "fix", p.Command, nil, reason)
			}
			if st.Fix.Destructive && p.Section != nil {
				// Hosts that already need an answer (a check failed after
				// their change) come before changing another host.
				picked := false
				for _, g := range p.Section.Waiting[1:] {
					if g.Kind == engine.PromptAsk || g.Kind == engine.PromptManual || g.Kind == engine.PromptError {
						if err := s.Select(g.Hosts); err != nil {
							return fail(res, err)
						}
						picked = true
						break
					}
				}
				if picked {
					continue
				}
			}
			if st.Fix.Destructive && p.Section != nil && len(p.Hosts) > 1 {
				// Inside a per-host section: one host at a time, each
				// host's own path (its checks after the fix) before the next.
				if err := s.Select([]string{p.Hosts[0].Name}); err != nil {
					return fail(res, err)
				}
				p = s.Pending()
			}
			if st.Fix.Destructive && st.Rollout == nil && p.Section == nil && len(p.Hosts) > 1 && !pol.DryRun {
				reason := fmt.Sprintf("destructive fix on %d hosts at once refused: it declares no rollout (add `rollout:` to the step: canary, batch, max_errors), or run it interactively", len(p.Hosts))
				_ = s.Decline(reason, ByPolicy)
				return needsHuman(res, s, st, "fix", p.Command, nil, reason)
			}
			if p.Section != nil && len(p.Hosts) > 1 {
				// A host with inputs of its own (STEP@HOST) confirms apart.
				for _, h := range p.Hosts {
					if _, ok := byStep(pol.Inputs, st, h.Name); ok {
						if err := s.Select([]string{h.Name}); err != nil {
							return fail(res, err)
						}
						p = s.Pending()
						break
					}
				}
			}
			inputs, _ := byStep(pol.Inputs, st, "")
			if p.Section != nil && len(p.Hosts) == 1 {
				if own, ok := byStep(pol.Inputs, st, p.Hosts[0].Name); ok {
					merged := maps.Clone(inputs)
					if merged == nil {
						merged = map[string]string{}
					}
					maps.Copy(merged, own)
					inputs = merged
				}
			}
			if err := s.Confirm(inputs, ByFlag); err != nil {
				reason := "fix needs inputs (give them in an --answers file or with --input " + st.ID + ".NAME=VALUE): " + err.Error()
				_ = s.Decline(reason, ByPolicy)
				return needsHuman(res, s, st, "fix", p.Command, nil, reason)
			}
		case engine.PromptError:
			// A probe that could not answer is not a failure of the tool and
			// not an answer: a human decides (retry, edit, override).
			var ee *engine.ExprError
			var pe *engine.ProbeError
			var te *engine.TransportError
			switch {
			case errors.As(p.Err, &ee):
				res = needsHuman(res, s, st, "expression", st.Title, nil,
					"cannot evaluate `"+ee.Expr+"`: "+ee.Reason+valuesText(ee.Values)+"; the step has no answer, so a human must decide (fix the runbook, or run interactively and override)")
				res.Stopped.Expr, res.Stopped.Values = ee.Expr, ee.Values
				return res
			case errors.As(p.Err, &pe):
				return needsHuman(res, s, st, "probe", p.Command, nil,
					p.Err.Error()+"; a human must decide (install or fix the command, or run interactively and retry, edit or override)")
			case errors.As(p.Err, &te):
				hint := "retrying may help (run again, or resume)"
				switch {
				case !engine.CanRetry(p.Err):
					hint = "retrying cannot help: check the host's identity with its owner and fix known_hosts"
				case engine.IsAuthFailure(p.Err):
					hint = "fix the credentials (ssh-agent, -i), then resume"
				case engine.IsTimeout(p.Err):
					hint = "the host did not answer in time; retry when it is reachable, or resume"
				}
				return needsHuman(res, s, st, "transport", p.Command, nil,
					"the probe could not reach its host: "+p.Err.Error()+"; "+hint+" (or declare on_error for this step)")
			}
			return fail(res, fmt.Errorf("step %s: %v", st.ID, p.Err))
		default:
			return fail(res, fmt.Errorf("step %s: unexpected prompt %q", st.ID, p.Kind))
		}
	}
	return fail(res, errors.New("too many prompts"))
}

// hostAnswers finds STEP@HOST answers for the hosts of a prompt: the
// first host's answer and every host that has the same one.
func hostAnswers(m map[string]string, st *engine.Step, hosts []engine.Host) (choice string, same []string) {
	for _, h := range hosts {
		a, ok := byStep(m, st, h.Name)
		if !ok {
			continue
		}
		if len(same) == 0 {
			choice = a
		}
		if a == choice {
			same = append(same, h.Name)
		}
	}
	return choice, same
}

func hostList(hs []engine.Host) string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	return strings.Join(names, ", ")
}

// lookup finds an answer by step id, then by vendor ref.
func lookup(m map[string]string, st *engine.Step) string {
	v, _ := byStep(m, st, "")
	return v
}

// byStep finds st's entry in an answers or inputs map: by step id, then by
// vendor ref; with a host, that host's own (STEP@HOST, one host of a
// per-host section).
func byStep[V any](m map[string]V, st *engine.Step, host string) (V, bool) {
	suffix := ""
	if host != "" {
		suffix = "@" + host
	}
	if v, ok := m[st.ID+suffix]; ok {
		return v, true
	}
	if st.Ref != "" {
		v, ok := m[st.Ref+suffix]
		return v, ok
	}
	var zero V
	return zero, false
}

func fail(res *Result, err error) *Result {
	res.Outcome = Failed
	res.Errors = append(res.Errors, err.Error())
	return res
}

func needsHuman(res *Result, s *engine.Session, st *engine.Step, kind, question string, choices []string, reason string) *Result {
	res.Outcome = NeedsHuman
	res.Stopped = &Stop{Step: st.ID, Ref: st.Ref, Kind: kind, Question: strings.TrimSpace(question),
		Choices: choices, Reason: reason, Interrupted: s.Interrupted()}
	return res
}

func valuesText(vs []engine.ExprValue) string {
	if len(vs) == 0 {
		return ""
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Name + "=" + v.Value
	}
	return " (values: " + strings.Join(parts, ", ") + ")"
}

// Path is the session's history as result entries, in visit order.
func Path(s *engine.Session) []PathEntry {
	rb := s.Runbook()
	out := []PathEntry{}
	for _, v := range s.History() {
		e := PathEntry{Step: v.Step, Command: v.Command, Answer: v.Answer, Decision: v.Decision,
			Simulated: v.Simulated, Interrupted: v.Interrupted, Started: v.Started, Ended: v.Ended,
			Notes: v.Notes, Error: v.Error, Paths: v.Paths}
		if !v.Ended.IsZero() {
			e.Duration = v.Ended.Sub(v.Started).Seconds()
		}
		for _, r := range v.Results {
			e.Results = append(e.Results, HostResult{Host: r.Host, Exit: r.Exit, Signal: r.Signal, TimedOut: r.TimedOut,
				Duration: r.Duration.Seconds(), Stdout: tail(r.Stdout), Stderr: tail(r.Stderr), Captures: r.Captures, Error: r.Err})
			e.Hosts = append(e.Hosts, r.Host)
		}
		if st := rb.Step(v.Step); st != nil {
			e.Ref, e.Title, e.Kind = st.Ref, st.Title, string(st.Kind)
		}
		out = append(out, e)
	}
	return out
}

func tail(s string) string {
	if len(s) <= maxResultOutput {
		return s
	}
	s = s[len(s)-maxResultOutput:]
	// Do not start in the middle of a UTF-8 sequence.
	for i := 0; i < 4 && i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			return s[i:]
		}
	}
	return s
}
