package engine

import "fmt"

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
	v := s.st.visit
	return !s.st.ended && v != nil && v.Interrupted && v.Ended.IsZero() && v.Step == s.current().ID
}

// restore applies Options.Captures and Options.Resume; NewSession calls it.
// Journaled events go through the same apply as live ones (fold.go); what
// restore adds is what only a journal needs: the step ids it names exist,
// the env is rebuilt from journaled results, and resumed decides what the
// rebuilt session does next.
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
				s.st.answers[st.ID] = v
			}
		}
	}
	if len(opts.Resume) == 0 {
		return nil
	}
	for i := range opts.Resume {
		if err := s.replay(opts.Resume[i]); err != nil {
			return fmt.Errorf("restore session: event %d (%s): %w", opts.Resume[i].Seq, opts.Resume[i].Type, err)
		}
	}
	return s.resumed()
}

func (s *Session) journaled(id string) (*Step, error) {
	st := s.rb.Step(id)
	if st == nil {
		return nil, fmt.Errorf("the journal names step %q, which this runbook does not have", id)
	}
	return st, nil
}

// replay applies one journaled event.
func (s *Session) replay(e Event) error {
	if done, err := s.fleetEvent(&e); done || err != nil {
		if e.Seq > s.seq {
			s.seq = e.Seq
		}
		return err
	}
	if s.st.ended {
		s.apply(e)
		return nil
	}
	f := s.st
	var st *Step
	switch e.Type {
	case EvStepEnter, EvAnswer, EvBack:
		if _, err := s.journaled(e.Step); err != nil {
			return err
		}
	case EvDecision:
		var err error
		if st, err = s.journaled(e.Step); err != nil {
			return err
		}
		if _, err := s.journaled(e.Next); err != nil {
			return err
		}
		v := f.visitOf(&e)
		if v == nil {
			return fmt.Errorf("decision out of step %s outside its visit", e.Step)
		}
		if v == f.visit && len(v.Results) > 0 {
			// The env the decision was made in: what later steps see.
			var extra map[string]any
			if st.Kind == KindWait {
				extra = map[string]any{"satisfied": f.satisfied, "polls": f.polls, "elapsed": f.elapsed}
			}
			s.record(st, v.Results, extra)
		}
	case EvSessionEnd:
		if e.Step != "" && s.rb.Step(e.Step) == nil {
			e.Step = "" // ended at a step this runbook lost: it stays where it was
		}
	case EvConfirm:
		if v := f.current(&e); v != nil {
			if st := s.rb.Step(v.Step); st != nil && st.Fix != nil {
				// The typed inputs (the live session holds them; a journal
				// has their text).
				vals := map[string]any{}
				for _, in := range st.Fix.Input {
					if raw, ok := e.Inputs[in.Name]; ok {
						if v, err := in.Validate(raw); err == nil {
							vals[in.Name] = v
						}
					}
				}
				defer func() { s.inputs = vals }()
			}
		}
	}
	s.apply(e)
	return nil
}

// resumed decides what the restored session does next.
func (s *Session) resumed() error {
	f := s.st
	if f.ended {
		return nil
	}
	s.Start() // no-op unless the journal had no events at all
	s.emit(Event{Type: EvResume, Step: s.current().ID, Text: "resumed from journal"})

	// Step mode: the journal ends on an automatic decision the operator had
	// not yet accepted; show it again instead of following it.
	if e := f.last; s.opts.StepMode && e != nil && e.Type == EvDecision && e.By == "auto" {
		if v := f.visitOf(e); v != nil && v == f.visit && !v.Simulated {
			if st := s.rb.Step(e.Step); st != nil && (st.Kind == KindRun || st.Kind == KindWait || st.Kind == KindFix) {
				s.pending = &Prompt{Kind: PromptDecided, Step: st, Decision: v.Decision, Hosts: s.promptHosts(st)}
				return nil
			}
		}
	}

	v := f.visit
	st := s.current()
	if v == nil || !v.Ended.IsZero() || v.Step != st.ID {
		return nil // between steps: the next Advance enters st
	}
	switch st.Kind {
	case KindFix:
		if !f.confirmed {
			return nil // it was waiting for confirmation; it still is
		}
		if st.Rollout != nil && !s.fixDone(st) && !v.Simulated && len(v.Results) > 0 {
			s.resumeRollout(st, v)
			return nil
		}
		if s.fixDone(st) {
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
		s.interrupt(v, "the fix was confirmed but no result was recorded: it may have run in part or in full; check before confirming again")
	case KindRun, KindWait, KindCollect:
		var only *onlyFailed
		if s.opts.OnlyFailed {
			only = s.onlyFailedOf(st, v) // before the interrupt forgets the results
		}
		if f.ran && v.Error == "" {
			s.interrupt(v, "the step was cut off before it finished; it runs again")
		}
		if only != nil {
			s.resumeOnlyFailed(only)
		}
	}
	return nil
}

// fixDone reports whether every host of the fix has a journaled result
// without a transport error.
func (s *Session) fixDone(st *Step) bool {
	hosts := s.hosts(st.Fix.On)
	if len(hosts) == 0 {
		return false
	}
	for _, h := range hosts {
		hr, ok := s.st.result(h.Name)
		if !ok || hr.Err != "" {
			return false
		}
	}
	return true
}

func (s *Session) interrupt(v *Visit, why string) {
	s.inputs = map[string]any{}
	s.emit(Event{Type: EvInterrupted, Step: v.Step, Visit: v.N, Text: why})
}
