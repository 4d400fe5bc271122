package engine

import (
	"errors"
	"fmt"
	"slices"
)

// Rerunning a step for only the hosts that failed it: RerunFailed (a key in
// the TUI) and Options.OnlyFailed (`runbook resume --only-failed`). The
// hosts that succeeded keep their results; the step's hosts, its
// confirmation (for a fix) and its probe are the failed hosts alone, and
// the route is decided over every host's result, kept and new.

// EvKept: the visit's results from now on (Event.Results), some of them
// from no command of this visit: the hosts a rerun for the failed ones
// kept, or those a resumed rollout had already changed. The fold takes
// them as they are, so a journal tells the same results as the live run.
const EvKept EventType = "step.kept"

type onlyFailed struct {
	step, role string
	hosts      []string     // the hosts to run again
	kept       []HostResult // the others' results
}

// failedIt says whether a host failed a step: no result, a transport
// error, a timeout or signal, a command that could not run (126, 127); for
// a fix, any non-zero exit. A probe's exit code is otherwise an answer.
func failedIt(st *Step, r HostResult) bool {
	return r.Err != "" || r.TimedOut || r.Signal != "" || r.Exit == 126 || r.Exit == 127 || r.Exit < 0 ||
		st.Kind == KindFix && r.Exit != 0
}

// FailedHosts lists the hosts of the current step that failed its last run.
func (s *Session) FailedHosts() []string {
	if sec := s.fleet.sec; sec != nil { // each pending host's own step
		var out []string
		for _, ln := range sec.group {
			out = append(out, ln.s.FailedHosts()...)
		}
		return out
	}
	st := s.current()
	c := st.Command()
	if c == nil || s.st.visit == nil || s.st.visit.Step != st.ID || st.ForEach != "" {
		return nil
	}
	_, failed := splitFailed(st, s.opts.Targets[c.On], s.st.visit.Results)
	return failed
}

func splitFailed(st *Step, hosts []Host, results []HostResult) (kept []HostResult, failed []string) {
	by := map[string]HostResult{}
	for _, r := range results {
		by[r.Host] = r
	}
	for _, h := range hosts {
		r, ok := by[h.Name]
		if !ok || failedIt(st, r) {
			failed = append(failed, h.Name)
		} else {
			kept = append(kept, r)
		}
	}
	return kept, failed
}

// RerunFailed runs the current step again (PromptError or PromptDecided,
// as Rerun) for only the hosts that failed it.
func (s *Session) RerunFailed() error {
	if s.fleet.sec != nil {
		// Inside a per-host section each host is its own step: the failed
		// hosts of the pending set run it again, the others keep waiting.
		failed := s.FailedHosts()
		if len(failed) == 0 {
			return errors.New("no host failed this step: rerun it for all (r)")
		}
		if err := s.Select(failed); err != nil {
			return err
		}
		return s.Rerun()
	}
	p := s.pending
	if p == nil || (p.Kind != PromptDecided && p.Kind != PromptError) {
		return ErrNoPrompt
	}
	st := s.current()
	c := st.Command()
	if c == nil || st.ForEach != "" || st.Rollout != nil {
		return fmt.Errorf("step %s: only run, wait and fix steps (without for_each or rollout) rerun for some hosts", st.ID)
	}
	kept, failed := splitFailed(st, s.opts.Targets[c.On], s.st.visit.Results)
	if len(failed) == 0 {
		return errors.New("no host failed this step: rerun it for all (r)")
	}
	if err := s.Rerun(); err != nil {
		return err
	}
	s.fleet.only = &onlyFailed{step: st.ID, role: c.On, hosts: failed, kept: kept}
	return nil
}

// onlyHosts filters a role's hosts while a step reruns for its failed hosts.
func (s *Session) onlyHosts(role string, hs []Host) []Host {
	o := s.fleet.only
	if o == nil || role != o.role || s.st.cur != o.step {
		return hs
	}
	var out []Host
	for _, h := range hs {
		if slices.Contains(o.hosts, h.Name) {
			out = append(out, h)
		}
	}
	return out
}

// withKept adds the kept results to a rerun's, in the role's host order,
// and ends the rerun-for-some.
func (s *Session) withKept(st *Step, c *Command, results []HostResult) (out []HostResult) {
	o := s.fleet.only
	if o == nil || st.ID != o.step || c.On != o.role {
		return results
	}
	s.fleet.only = nil
	defer func() { s.emit(Event{Type: EvKept, Step: st.ID, Results: out}) }()
	by := map[string]HostResult{}
	for _, r := range append(append([]HostResult{}, o.kept...), results...) {
		by[r.Host] = r
	}
	for _, h := range s.opts.Targets[c.On] {
		if r, ok := by[h.Name]; ok {
			out = append(out, r)
		}
	}
	return out
}

// onlyFailedOf is what `resume --only-failed` reruns of the resumed visit
// v of st: its failed hosts (or those that never reported), the others'
// journaled results kept; nil when it reruns for all.
func (s *Session) onlyFailedOf(st *Step, v *Visit) *onlyFailed {
	c := st.Command()
	if c == nil || st.ForEach != "" || st.Rollout != nil || len(v.Results) == 0 {
		return nil
	}
	kept, failed := splitFailed(st, s.opts.Targets[c.On], v.Results)
	if len(failed) == 0 || len(kept) == 0 {
		return nil
	}
	return &onlyFailed{step: st.ID, role: c.On, hosts: failed, kept: kept}
}

// resumeOnlyFailed: a resumed step reruns for the hosts that failed it (or
// never reported); the others' journaled results are kept.
func (s *Session) resumeOnlyFailed(o *onlyFailed) {
	s.fleet.only = o
	s.emit(Event{Type: EvResume, Step: o.step, Text: fmt.Sprintf("--only-failed: %s runs again on %s; %d hosts keep their results", o.step, nameHosts(o.hosts), len(o.kept))})
}
