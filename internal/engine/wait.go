package engine

// Wait steps: polling a command until its condition holds or it times out.

import (
	"context"
	"time"
)

func (s *Session) wait(ctx context.Context, st *Step) error {
	w := st.Wait
	if w.At != "" || w.For != "" {
		if poll, err := s.timedWait(ctx, st); !poll || err != nil {
			return err
		}
	}
	start := s.opts.Clock.Now()
	var results []HostResult
	satisfied := false
	polls := 0
	maxPolls := int(w.Timeout/w.Every) + 2
	if s.opts.DryRun {
		maxPolls = 1
	}
	for polls < maxPolls {
		polls++
		var ok bool
		// A poll may not outlive the wait: without this a probe that hangs
		// (and has no timeout of its own) holds an unattended run forever.
		poll := *w.Run
		left := max(w.Timeout-s.opts.Clock.Now().Sub(start), time.Second)
		if poll.Timeout <= 0 || poll.Timeout > left {
			poll.Timeout = left
		}
		results, ok = s.probe(ctx, st, &poll)
		if !ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := transportErrors(results); err != nil {
			s.record(st, results, nil)
			return s.transportFailure(st, err)
		}
		if err := brokenProbe(st, results); err != nil {
			s.record(st, results, nil)
			return s.fail(st, err)
		}
		elapsed := s.opts.Clock.Now().Sub(start)
		env := s.waitEnv(st, results, polls, elapsed)
		var err error
		if satisfied, err = s.evalBool(st, w.Until, env); err != nil {
			s.record(st, results, nil)
			return s.fail(st, err)
		}
		s.emit(Event{Type: EvPoll, Step: st.ID, Poll: polls, Satisfied: satisfied, Duration: elapsed.Seconds()})
		if satisfied || elapsed+w.Every > w.Timeout || s.opts.DryRun {
			break
		}
		if err := s.opts.Clock.Sleep(ctx, w.Every); err != nil {
			return err
		}
	}
	elapsed := s.opts.Clock.Now().Sub(start)
	s.record(st, results, map[string]any{"satisfied": satisfied, "polls": polls, "elapsed": elapsed.Seconds()})
	env := s.waitEnv(st, results, polls, elapsed)
	env["satisfied"] = satisfied
	if len(st.Branches) == 0 && st.Else == "" && st.Next != "" {
		return s.decide(st, env)
	}
	return s.decide(st, env)
}

func (s *Session) waitEnv(st *Step, results []HostResult, polls int, elapsed time.Duration) Env {
	env := s.env(st)
	resultEnv(env, results, st)
	env["polls"] = polls
	env["elapsed"] = elapsed.Seconds()
	env["satisfied"] = false
	return env
}
