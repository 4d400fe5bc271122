// Package auto drives an engine.Session with nobody at the keyboard: asks are
// answered by declared policy, fixes run only when allowed, manual steps stop
// unless assumed done. It is the `--auto` driver.
package auto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Outcome of an unattended run.
type Outcome string

const (
	Resolved   Outcome = "resolved"
	Escalated  Outcome = "escalated"
	Aborted    Outcome = "aborted"
	NeedsHuman Outcome = "needs-human"
	Failed     Outcome = "failed"
	Interrupted Outcome = "interrupted"
)

// Exit codes, documented in README and `runbook run --help`.
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
	Answers          map[string]string            // step id or ref -> answer (--answer)
	AllowFix         bool                         // --allow-fix
	AllowDestructive bool                         // --allow-destructive
	AssumeDone       map[string]bool              // manual steps (--assume-done)
	Inputs           map[string]map[string]string // fix step -> input values
}

// Result is the outcome of an unattended run.
type Result struct {
	Outcome  Outcome      `json:"outcome"`
	Runbook  string       `json:"runbook"`
	Title    string       `json:"title"`
	Message  string       `json:"message,omitempty"`
	Path     []PathEntry  `json:"path"`
	Started  time.Time    `json:"started"`
	Ended    time.Time    `json:"ended"`
	Duration float64      `json:"duration"`
	Stopped  *Stop        `json:"stopped,omitempty"` // needs-human: where and why
	Errors   []string     `json:"errors,omitempty"`
	Bundle   string       `json:"bundle,omitempty"`
	DryRun   bool         `json:"dry_run,omitempty"`
}

// Stop says where an unattended run needed a human.
type Stop struct {
	Step     string `json:"step"`
	Ref      string `json:"ref,omitempty"`
	Kind     string `json:"kind"`
	Question string `json:"question"`
	Reason   string `json:"reason"`
}

// PathEntry is one visit in the path taken.
type PathEntry struct {
	Step      string              `json:"step"`
	Ref       string              `json:"ref,omitempty"`
	Title     string              `json:"title,omitempty"`
	Kind      string              `json:"kind"`
	Results   []engine.HostResult `json:"results,omitempty"`
	Answer    string              `json:"answer,omitempty"`
	Decision  *engine.Decision    `json:"decision,omitempty"`
	Simulated bool                `json:"simulated,omitempty"`
	Error     string              `json:"error,omitempty"`
}

// Run walks the session to an end or to a point where a human is needed.
// Progress lines go to progress (one per decision), if not nil.
func Run(ctx context.Context, s *engine.Session, pol Policy, progress io.Writer) *Result {
	rb := s.Runbook()
	res := &Result{Runbook: rb.ID, Title: rb.Title, Started: time.Now()}
	defer func() {
		res.Ended = time.Now()
		res.Duration = res.Ended.Sub(res.Started).Seconds()
		res.Path = path(s)
	}()
	for range 100000 {
		p, err := s.Advance(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				res.Outcome = Interrupted
			} else {
				res.Outcome = Failed
			}
			res.Errors = append(res.Errors, err.Error())
			return res
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
			progressf(progress, "end  %s: %s %s", label(st), p.Outcome, p.Message)
			return res
		case engine.PromptRun, engine.PromptDecided:
			if err := s.Proceed(); err != nil {
				return fail(res, err)
			}
		case engine.PromptAsk, engine.PromptManual:
			answer, ok := lookup(pol.Answers, st)
			by := "flag"
			if !ok && p.Kind == engine.PromptAsk {
				var err error
				answer, ok, err = s.AutoAnswer(st)
				if err != nil {
					return fail(res, err)
				}
				by = "auto"
			}
			if p.Kind == engine.PromptManual && len(st.Choices) == 0 {
				if !pol.AssumeDone[st.ID] && !pol.AssumeDone[st.Ref] {
					return needsHuman(res, s, st, "manual", st.Manual, "manual step: pass --assume-done "+st.ID+" once it is done")
				}
				if err := s.Done("flag"); err != nil {
					return fail(res, err)
				}
				progressf(progress, "done %s (assumed)", label(st))
				continue
			}
			if !ok {
				q := st.Ask
				if q == "" {
					q = st.Manual
				}
				return needsHuman(res, s, st, string(st.Kind), q, "answer with --answer "+st.ID+"=CHOICE ("+strings.Join(p.Choices, "|")+")")
			}
			if err := s.Answer(answer, by); err != nil {
				return fail(res, err)
			}
			progressf(progress, "ask  %s: %s (%s)", label(st), answer, by)
		case engine.PromptConfirm:
			if !pol.AllowFix {
				return needsHuman(res, s, st, "fix", p.Command, "fix refused: pass --allow-fix to run it")
			}
			if st.Fix.Destructive && !pol.AllowDestructive {
				return needsHuman(res, s, st, "fix", p.Command, "destructive fix refused: pass --allow-fix --allow-destructive to run it")
			}
			inputs := pol.Inputs[st.ID]
			if err := s.Confirm(inputs, "flag"); err != nil {
				return needsHuman(res, s, st, "fix", p.Command, "fix needs inputs: "+err.Error())
			}
		case engine.PromptError:
			res.Outcome = Failed
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", st.ID, p.Err))
			progressf(progress, "FAIL %s: %v", label(st), p.Err)
			return res
		}
		if h := s.History(); len(h) > 0 {
			last := h[len(h)-1]
			if last.Decision != nil && p.Kind != engine.PromptAsk && p.Kind != engine.PromptManual && !last.Ended.IsZero() {
				progressf(progress, "%-4s %s: %s", kindTag(rb.Step(last.Step)), label(rb.Step(last.Step)), last.Decision.Explain)
			}
		}
	}
	return fail(res, errors.New("too many prompts"))
}

func kindTag(st *engine.Step) string {
	if st == nil {
		return "?"
	}
	return string(st.Kind)
}

func lookup(m map[string]string, st *engine.Step) (string, bool) {
	if v, ok := m[st.ID]; ok {
		return v, true
	}
	if st.Ref != "" {
		if v, ok := m[st.Ref]; ok {
			return v, true
		}
	}
	return "", false
}

func label(st *engine.Step) string {
	if st == nil {
		return "?"
	}
	if st.Ref != "" {
		return st.Ref + " " + st.ID
	}
	return st.ID
}

func progressf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func fail(res *Result, err error) *Result {
	res.Outcome = Failed
	res.Errors = append(res.Errors, err.Error())
	return res
}

func needsHuman(res *Result, s *engine.Session, st *engine.Step, kind, question, reason string) *Result {
	res.Outcome = NeedsHuman
	res.Stopped = &Stop{Step: st.ID, Ref: st.Ref, Kind: kind, Question: question, Reason: reason}
	return res
}

func path(s *engine.Session) []PathEntry {
	rb := s.Runbook()
	var out []PathEntry
	for _, v := range s.History() {
		st := rb.Step(v.Step)
		e := PathEntry{Step: v.Step, Results: v.Results, Answer: v.Answer, Decision: v.Decision, Simulated: v.Simulated, Error: v.Error}
		if st != nil {
			e.Ref, e.Title, e.Kind = st.Ref, st.Title, string(st.Kind)
		}
		out = append(out, e)
	}
	return out
}
