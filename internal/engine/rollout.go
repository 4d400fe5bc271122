package engine

// Rollouts: a confirmed fix on a group with `rollout:` runs on the canary
// hosts first, then in batches; after each batch the rollout's own
// verification runs on that batch's hosts, and a host counts as failed when
// its fix or its verification did not hold. When more hosts failed than
// max_errors allows, the rollout stops and asks (a PromptAsk on the fix step,
// choices continue / stop); in step mode it also asks after the canary.
// The verification's events carry the step id "FIX:verify" (no step id has
// a colon), so the journal keeps them apart from the fix's own results.

import (
	"context"
	"fmt"
	"strings"
)

// EvRollout: a rollout ran a batch, stopped or went on. Text says which
// hosts and how many failed.
const EvRollout EventType = "rollout"

// Rollout answers.
const (
	RolloutContinue = "continue"
	RolloutStop     = "stop"
)

type rolloutState struct {
	visit    *Visit
	hosts    []Host
	next     int // hosts[:next] have run
	batches  int
	results  map[string]HostResult // the fix, by host
	failed   []string              // hosts whose fix or verification failed, in order
	why      map[string]string     // host -> why it failed
	accepted int                   // failures the operator chose to go on with
	halted   bool                  // waiting for continue / stop
	stopped  bool
}

func (s *Session) rolloutStep(ctx context.Context, st *Step) error {
	ro := s.fleet.ro
	if ro == nil || ro.visit != s.st.visit {
		ro = &rolloutState{visit: s.st.visit, hosts: s.hosts(st.Fix.On), results: map[string]HostResult{}, why: map[string]string{}}
		s.fleet.ro = ro
	}
	if ro.halted {
		return nil // the ask is pending
	}
	n := len(ro.hosts)
	if ro.stopped || ro.next >= n {
		return s.rolloutFinish(st, ro)
	}
	r := st.Rollout
	size := batchSize(r, n)
	canary := ro.next == 0 && r.Canary > 0
	if canary {
		size = r.Canary
	}
	end := min(ro.next+size, n)
	batch := ro.hosts[ro.next:end]
	cmd, err := s.render(st, st.Fix)
	if err != nil {
		return s.fail(st, err)
	}
	ro.batches++
	what := fmt.Sprintf("batch %d", ro.batches)
	if canary {
		what = "canary"
	}
	s.emit(Event{Type: EvRollout, Step: st.ID, Text: fmt.Sprintf("%s: %s (%d of %d hosts)", what, hostList(batch), end, n)})
	fixed := s.runBatch(ctx, st, batch, cmd, st.Fix)
	if err := ctx.Err(); err != nil {
		return err
	}
	var verified map[string]HostResult
	if v := r.Verify; v != nil {
		vs := &Step{ID: st.ID + ":verify", Kind: KindRun, Run: v}
		vcmd, err := s.renderVerify(st, v)
		if err != nil {
			return s.fail(st, err)
		}
		var ok []Host
		for _, h := range batch {
			if fixed[h.Name].Err == "" && fixed[h.Name].Exit == 0 { // a failed fix is not verified
				ok = append(ok, h)
			}
		}
		verified = s.runBatch(ctx, vs, ok, vcmd, v)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for _, h := range batch {
		hr := fixed[h.Name]
		ro.results[h.Name] = hr
		if why := s.hostFailed(st, hr, verified); why != "" {
			ro.failed = append(ro.failed, h.Name)
			ro.why[h.Name] = why
		}
	}
	ro.next = end
	budget := r.MaxErrors.Of(n, false)
	switch {
	case len(ro.failed)-ro.accepted > budget:
		s.rolloutHalt(st, ro, fmt.Sprintf("rollout stopped after %d of %d hosts: %d failed, more than max_errors %s allows (%d): %s",
			end, n, len(ro.failed), r.MaxErrors, budget, ro.failures(ro.failed)))
	case canary && s.opts.StepMode && end < n:
		s.rolloutHalt(st, ro, fmt.Sprintf("canary %s done (%s); %d hosts to go in batches of %d", hostList(batch), ro.batchState(batch), n-end, batchSize(r, n)))
	}
	return nil
}

// batchSize is how many hosts of a group of n a batch after the canary changes.
func batchSize(r *Rollout, n int) int { return max(r.Batch.Of(n, true), 1) }

// runBatch runs cmd on hosts concurrently, every command event first.
func (s *Session) runBatch(ctx context.Context, st *Step, hosts []Host, cmd string, c *Command) map[string]HostResult {
	out := s.runHosts(ctx, st, hosts, cmd, c, false)
	m := make(map[string]HostResult, len(hosts))
	for _, r := range out {
		m[r.Host] = r
	}
	return m
}

func (s *Session) renderVerify(st *Step, v *Command) (string, error) {
	env := s.env(st)
	t, err := ParseTemplate(v.Cmd, env)
	if err != nil {
		return "", fmt.Errorf("step %s: rollout.verify: %w", st.ID, err)
	}
	return t.Render(env)
}

// hostFailed says why a host of a batch failed ("" when it did not): its
// fix did not run, or `ok` does not hold over its verification (when there
// is one, after a fix that exited 0) or else over the fix's own result.
func (s *Session) hostFailed(st *Step, fix HostResult, verified map[string]HostResult) string {
	switch {
	case fix.Err != "":
		return "fix: " + fix.Err
	case fix.Exit != 0 && st.Rollout.Verify != nil:
		return fmt.Sprintf("fix: exit %d", fix.Exit)
	}
	hr := fix
	what := "fix"
	if st.Rollout.Verify != nil {
		v, ok := verified[fix.Host]
		if !ok {
			return "verify: did not run"
		}
		if v.Err != "" {
			return "verify: " + v.Err
		}
		hr, what = v, "verify"
	}
	ok := hr.Exit == 0
	if src := strings.TrimSpace(st.Rollout.OK); src != "" {
		env := s.env(st)
		resultEnv(env, []HostResult{hr}, st)
		held, err := s.evalBool(st, src, env)
		if err != nil {
			return what + ": " + err.Error()
		}
		ok = held
	}
	if !ok {
		if st.Rollout.OK != "" {
			return fmt.Sprintf("%s: exit %d, `%s` does not hold", what, hr.Exit, st.Rollout.OK)
		}
		return fmt.Sprintf("%s: exit %d", what, hr.Exit)
	}
	return ""
}

func (ro *rolloutState) failures(hosts []string) string {
	parts := make([]string, 0, len(hosts))
	for _, h := range hosts {
		parts = append(parts, h+" ("+ro.why[h]+")")
	}
	return strings.Join(parts, ", ")
}

func (ro *rolloutState) batchState(batch []Host) string {
	bad := 0
	for _, h := range batch {
		if _, ok := ro.why[h.Name]; ok {
			bad++
		}
	}
	if bad == 0 {
		return "verified"
	}
	return fmt.Sprintf("%d failed", bad)
}

func hostList(hs []Host) string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	return nameHosts(names)
}

func (s *Session) rolloutHalt(st *Step, ro *rolloutState, text string) {
	ro.halted = true
	s.emit(Event{Type: EvRollout, Step: st.ID, Text: text})
	hs := append([]Host(nil), ro.hosts[:ro.next]...)
	s.pending = &Prompt{Kind: PromptAsk, Step: st, Choices: []string{RolloutContinue, RolloutStop}, Hosts: hs, Text: s.mask(text) + "\n\ncontinue: go on with the next batch; stop: change no more hosts and follow the fix's route with the results so far."}
}

// rolloutAnswer takes continue / stop for a halted rollout; handled says
// whether one was waiting.
func (s *Session) rolloutAnswer(choice, by string) (handled bool, err error) {
	ro := s.fleet.ro
	if ro == nil || !ro.halted || ro.visit != s.st.visit || s.pending == nil {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(choice)) {
	case RolloutContinue:
		ro.accepted = len(ro.failed)
	case RolloutStop:
		ro.stopped = true
	default:
		return true, fmt.Errorf("%q is not an answer to the rollout of %s (choices: continue, stop)", choice, s.current().ID)
	}
	if by == "" {
		by = "operator"
	}
	ro.halted = false
	s.pending = nil
	s.emit(Event{Type: EvRollout, Step: s.current().ID, Answer: strings.ToLower(strings.TrimSpace(choice)), By: by,
		Text: fmt.Sprintf("%s after %d of %d hosts", strings.ToLower(strings.TrimSpace(choice)), ro.next, len(ro.hosts))})
	return true, nil
}

// rolloutAuto: a halted rollout is never answered by an ask's auto policy.
func (s *Session) rolloutHalted() bool {
	ro := s.fleet.ro
	return ro != nil && ro.halted && ro.visit == s.st.visit
}

// rolloutFinish decides the fix's route from the hosts that ran.
func (s *Session) rolloutFinish(st *Step, ro *rolloutState) error {
	s.fleet.ro = nil
	var results []HostResult
	var skipped []string
	for _, h := range ro.hosts {
		if hr, ok := ro.results[h.Name]; ok {
			results = append(results, hr)
		} else {
			skipped = append(skipped, h.Name)
		}
	}
	summary := fmt.Sprintf("rollout done: %d of %d hosts changed, %d failed", len(results), len(ro.hosts), len(ro.failed))
	if len(skipped) > 0 {
		summary += fmt.Sprintf(", %d not changed: %s", len(skipped), nameHosts(skipped))
	}
	s.emit(Event{Type: EvRollout, Step: st.ID, Text: summary})
	s.record(st, results, map[string]any{"rollout": map[string]any{
		"failed": toAnyList(ro.failed), "skipped": toAnyList(skipped), "stopped": ro.stopped}})
	if err := transportErrors(results); err != nil {
		return s.transportFailure(st, err)
	}
	if err := brokenProbe(st, results); err != nil {
		return s.fail(st, err)
	}
	env := s.env(st)
	resultEnv(env, results, st)
	if len(ro.failed) > 0 && env["exit"] == 0 {
		env["exit"] = 1 // a failed verification fails the fix
	}
	return s.decide(st, env)
}

func toAnyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// resumeRollout continues a rollout cut off by the end of a process: the
// hosts with a journaled fix result are not changed again; one whose
// verification was cut off counts as failed ("verify: did not run").
func (s *Session) resumeRollout(st *Step, v *Visit) {
	ro := &rolloutState{visit: v, hosts: s.hosts(st.Fix.On), results: map[string]HostResult{}, why: map[string]string{}}
	done := map[string]bool{}
	for _, hr := range v.Results {
		if hr.Err == "" {
			done[hr.Host] = true
		}
	}
	// Hosts run in order: the done ones come first; a gap (a host cut off
	// mid-batch) is run again.
	var kept []HostResult
	for _, h := range ro.hosts {
		if !done[h.Name] {
			break
		}
		hr, _ := s.st.result(h.Name)
		ro.results[h.Name] = hr
		kept = append(kept, hr)
		if why := s.hostFailed(st, hr, s.fleet.verified); why != "" {
			ro.failed = append(ro.failed, h.Name)
			ro.why[h.Name] = why
		}
		ro.next++
		ro.batches = 1
		if ro.next == s.fleet.acceptAt {
			ro.accepted = len(ro.failed) // the operator went on past these
		}
	}
	s.fleet.ro, s.fleet.verified, s.fleet.acceptAt = ro, nil, 0
	s.interrupt(v, fmt.Sprintf("the rollout was cut off after %d of %d hosts; confirming goes on with the other %d (those already changed are not changed again)", ro.next, len(ro.hosts), len(ro.hosts)-ro.next))
	// The interrupt forgets what the cut-off attempt showed; the hosts
	// already changed keep their results in the visit.
	s.emit(Event{Type: EvKept, Step: st.ID, Visit: v.N, Results: kept})
}
