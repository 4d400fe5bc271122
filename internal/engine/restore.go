package engine

import (
	"fmt"
	"time"
)

// Event types a restored session adds to its journal.
const (
	// EvResume: the session was rebuilt from its journal and goes on.
	EvResume EventType = "session.resume"
	// EvInterrupted: the step's earlier run was cut off (the process died);
	// it is offered again. Text says what is known about the cut-off run.
	EvInterrupted EventType = "step.interrupted"
)

// Restore rebuilds a session from the events of an earlier process (its
// journal): position, history, answers, captures and fix inputs come back,
// and nothing that completed runs again. A probe that was cut off runs
// again; a fix that was confirmed but has no journaled result is offered for
// confirmation again, marked interrupted (Session.Interrupted). opts are as
// for NewSession (same targets and params as the original run; StartAt as
// the original, used only when no step had been entered yet).
func Restore(rb *Runbook, opts Options, events []Event) (*Session, error) {
	opts.Resume = events
	return NewSession(rb, opts)
}

// Interrupted reports whether the current step is offered again because its
// earlier run was cut off. Drivers show it ("interrupted: running again").
func (s *Session) Interrupted() bool {
	if s.fleet.sec != nil {
		return s.sectionInterrupted()
	}
	v := s.visit
	return !s.ended && v != nil && v.Interrupted && v.Ended.IsZero() && s.cur != nil && v.Step == s.cur.ID
}

// restore applies Options.Captures and Options.Resume; NewSession calls it.
func (s *Session) restore(opts Options) error {
	for id, vals := range opts.Captures {
		st := s.rb.Step(id)
		if st == nil {
			return fmt.Errorf("capture %s: no such step", id)
		}
		m := s.steps[st.ID]
		if m == nil {
			m = map[string]any{}
			s.steps[st.ID] = m
		}
		for name, v := range vals {
			m[name] = v
			if name == "answer" {
				s.answers[st.ID] = v
			}
		}
	}
	if len(opts.Resume) == 0 {
		return nil
	}
	r := &replay{s: s}
	for i := range opts.Resume {
		if err := r.event(&opts.Resume[i]); err != nil {
			return fmt.Errorf("restore session: event %d (%s): %w", opts.Resume[i].Seq, opts.Resume[i].Type, err)
		}
	}
	return r.finish()
}

// replay is the state of one restore: what the journal says about the
// visit in progress.
type replay struct {
	s         *Session
	results   map[string]HostResult
	out       map[string]*tailWriter // host + "\x00" + stream
	ran       bool                   // a command, result, poll or collect happened in this visit
	confirmed bool                   // the fix of this visit was confirmed
	polls     int
	satisfied bool
	elapsed   float64
	last      *Event // the last event that changed the route
}

func (r *replay) resetVisit() {
	r.results, r.out = map[string]HostResult{}, map[string]*tailWriter{}
	r.ran, r.confirmed = false, false
	r.polls, r.satisfied, r.elapsed = 0, false, 0
}

// visitOf is the visit an event belongs to: its Visit number, else the current one.
func (r *replay) visitOf(e *Event) *Visit {
	s := r.s
	if e.Visit > 0 && e.Visit <= len(s.history) && s.history[e.Visit-1].Step == e.Step {
		return s.history[e.Visit-1]
	}
	if s.visit != nil && s.visit.Step == e.Step {
		return s.visit
	}
	return nil
}

// current reports whether e belongs to the visit in progress.
func (r *replay) current(e *Event) bool {
	v := r.visitOf(e)
	return v != nil && v == r.s.visit
}

func (r *replay) step(id string) (*Step, error) {
	st := r.s.rb.Step(id)
	if st == nil {
		return nil, fmt.Errorf("the journal names step %q, which this runbook does not have", id)
	}
	return st, nil
}

func (r *replay) event(e *Event) error {
	s := r.s
	if done, err := r.fleetEvent(e); done || err != nil {
		return err
	}
	if e.Seq > s.seq {
		s.seq = e.Seq
	}
	if s.ended {
		return nil
	}
	switch e.Type {
	case EvStepEnter:
		st, err := r.step(e.Step)
		if err != nil {
			return err
		}
		if s.visit != nil && s.visit.Ended.IsZero() {
			s.visit.Ended = e.Time
		}
		s.visits[st.ID]++
		v := &Visit{N: len(s.history) + 1, Step: st.ID, Started: e.Time}
		s.history = append(s.history, v)
		s.visit, s.cur = v, st
		s.approved, s.edited, s.pending = false, "", nil
		r.resetVisit()
		r.last = e
	case EvCommand:
		if !r.current(e) {
			return nil
		}
		if _, again := r.results[e.Host]; again { // a new poll of a wait step
			r.results, r.out = map[string]HostResult{}, map[string]*tailWriter{}
		}
		s.visit.Command, s.visit.Edited = e.Command, e.Edited
		r.ran = true
	case EvOutput:
		if !r.current(e) {
			return nil
		}
		k := e.Host + "\x00" + e.Stream
		w := r.out[k]
		if w == nil {
			w = &tailWriter{max: s.opts.MaxOutput}
			r.out[k] = w
		}
		_, _ = w.Write([]byte(e.Data))
		r.ran = true
	case EvResult:
		if !r.current(e) {
			return nil
		}
		hr := HostResult{Host: e.Host, Exit: -1, Signal: e.Signal, TimedOut: e.TimedOut,
			Duration: time.Duration(e.Duration * float64(time.Second)), Captures: e.Captures, Err: e.Error}
		if e.Exit != nil {
			hr.Exit = *e.Exit
		}
		if w := r.out[e.Host+"\x00stdout"]; w != nil {
			hr.Stdout = string(w.buf)
		}
		if w := r.out[e.Host+"\x00stderr"]; w != nil {
			hr.Stderr = string(w.buf)
		}
		r.results[e.Host] = hr
		s.visit.Results = r.ordered()
		r.ran = true
	case EvPoll:
		if r.current(e) {
			r.polls, r.satisfied, r.elapsed, r.ran = e.Poll, e.Satisfied, e.Duration, true
		}
	case EvCollect:
		if r.current(e) {
			r.ran = true
		}
	case EvSimulated:
		if v := r.visitOf(e); v != nil {
			v.Simulated = true
		}
		if r.current(e) {
			r.ran = true
		}
	case EvError:
		if v := r.visitOf(e); v != nil {
			v.Error = e.Error
		}
	case EvConfirm:
		if !r.current(e) || s.cur.Fix == nil {
			return nil
		}
		r.confirmed = true
		vals := map[string]any{}
		for _, in := range s.cur.Fix.Input {
			if raw, ok := e.Inputs[in.Name]; ok {
				if v, err := in.Validate(raw); err == nil {
					vals[in.Name] = v
				}
			}
		}
		s.inputs = vals
	case EvAnswer:
		st, err := r.step(e.Step)
		if err != nil {
			return err
		}
		s.answers[st.ID] = e.Answer
		s.steps[st.ID] = map[string]any{"answer": e.Answer}
		if v := r.visitOf(e); v != nil {
			v.Answer = e.Answer
		}
	case EvDecision:
		st, err := r.step(e.Step)
		if err != nil {
			return err
		}
		next, err := r.step(e.Next)
		if err != nil {
			return err
		}
		v := r.visitOf(e)
		if v == nil {
			return fmt.Errorf("decision out of step %s outside its visit", e.Step)
		}
		v.Decision = &Decision{Next: next.ID, Expr: e.Expr, By: e.By, Reason: e.Reason, Explain: e.Explain, Checks: e.Checks}
		if v == s.visit {
			if len(r.results) > 0 {
				var extra map[string]any
				if st.Kind == KindWait {
					sat := r.satisfied
					v.Polls, v.Satisfied = r.polls, &sat
					extra = map[string]any{"satisfied": sat, "polls": r.polls, "elapsed": r.elapsed}
				}
				s.record(st, v.Results, extra)
			}
			if v.Ended.IsZero() {
				v.Ended = e.Time
			}
		}
		s.cur = next
		s.approved, s.edited, s.pending = false, "", nil
		r.last = e
	case EvBack:
		st, err := r.step(e.Step)
		if err != nil {
			return err
		}
		if s.visit != nil && s.visit.Ended.IsZero() {
			s.visit.Ended = e.Time
		}
		s.cur, s.visit = st, nil
		s.approved, s.edited, s.pending = false, "", nil
		r.resetVisit()
		r.last = e
	case EvNote:
		if v := r.visitOf(e); v != nil {
			v.Notes = append(v.Notes, e.Text)
		}
	case EvInterrupted:
		if v := r.visitOf(e); v != nil {
			v.Interrupted = true
		}
	case EvSessionEnd:
		if st := s.rb.Step(e.Step); st != nil {
			s.cur = st
		}
		if s.visit != nil && s.visit.Ended.IsZero() {
			s.visit.Ended = e.Time
		}
		s.ended, s.outcome, s.message = true, e.Outcome, e.Message
		s.pending = &Prompt{Kind: PromptEnd, Step: s.cur, Outcome: e.Outcome, Message: e.Message}
	}
	return nil
}

// ordered lists the journaled results in the order of the step's hosts.
func (r *replay) ordered() []HostResult {
	var out []HostResult
	seen := map[string]bool{}
	if c := r.s.cur.Command(); c != nil {
		for _, h := range r.s.hosts(c.On) {
			if hr, ok := r.results[h.Name]; ok {
				out = append(out, hr)
				seen[h.Name] = true
			}
		}
	}
	for _, k := range SortedKeys(r.results) {
		if !seen[k] {
			out = append(out, r.results[k])
		}
	}
	return out
}

// finish decides what the restored session does next.
func (r *replay) finish() error {
	s := r.s
	if s.ended {
		return nil
	}
	s.Start() // no-op unless the journal had no events at all
	s.emit(Event{Type: EvResume, Step: s.cur.ID, Text: "resumed from journal"})

	// Step mode: the journal ends on an automatic decision the operator had
	// not yet accepted; show it again instead of following it.
	if e := r.last; s.opts.StepMode && e != nil && e.Type == EvDecision && e.By == "auto" {
		if v := r.visitOf(e); v != nil && v == s.visit && !v.Simulated {
			if st := s.rb.Step(e.Step); st != nil && (st.Kind == KindRun || st.Kind == KindWait || st.Kind == KindFix) {
				s.cur, v.Ended = st, time.Time{}
				s.pending = &Prompt{Kind: PromptDecided, Step: st, Decision: v.Decision, Hosts: s.promptHosts(st)}
				return nil
			}
		}
	}

	v := s.visit
	if v == nil || !v.Ended.IsZero() || v.Step != s.cur.ID {
		return nil // between steps: the next Advance enters s.cur
	}
	st := s.cur
	switch st.Kind {
	case KindFix:
		if !r.confirmed {
			return nil // it was waiting for confirmation; it still is
		}
		if st.Rollout != nil && !r.fixDone(st) && !v.Simulated && len(v.Results) > 0 {
			r.resumeRollout(st, v)
			return nil
		}
		if r.fixDone(st) {
			// The fix ran to the end and only its route was lost: never run
			// it again, decide from the journaled result.
			s.record(st, v.Results, nil)
			env := s.env(st)
			resultEnv(env, v.Results, st)
			return s.decide(st, env)
		}
		if v.Simulated {
			break
		}
		r.interrupt(v, "the fix was confirmed but no result was recorded: it may have run in part or in full; check before confirming again")
	case KindRun, KindWait, KindCollect:
		if r.ran && v.Error == "" {
			r.interrupt(v, "the step was cut off before it finished; it runs again")
		}
	}
	if s.opts.OnlyFailed {
		r.resumeOnlyFailed(st, v)
	}
	v.Results, v.Command, v.Error = nil, "", ""
	return nil
}

// fixDone reports whether every host of the fix has a journaled result
// without a transport error.
func (r *replay) fixDone(st *Step) bool {
	hosts := r.s.hosts(st.Fix.On)
	if len(hosts) == 0 || len(r.results) < len(hosts) {
		return false
	}
	for _, h := range hosts {
		hr, ok := r.results[h.Name]
		if !ok || hr.Err != "" {
			return false
		}
	}
	return true
}

func (r *replay) interrupt(v *Visit, why string) {
	s := r.s
	v.Interrupted = true
	s.inputs = map[string]any{}
	s.emit(Event{Type: EvInterrupted, Step: v.Step, Visit: v.N, Text: why})
}
