package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// The fold over the many-host machinery, calls and timed waits: the
// journal (through JSON) folds to exactly the live session's state, and
// the visits hold what main's tests of those features see.

func throughJSON(t *testing.T, evs []engine.Event) []engine.Event {
	t.Helper()
	out := make([]engine.Event, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func foldEvents(evs []engine.Event) *engine.State {
	f := engine.NewState("")
	for _, e := range evs {
		f.Apply(e)
	}
	return f
}

// journalFolds checks that evs, journaled, fold to live's state and
// returns that fold.
func journalFolds(t *testing.T, live *engine.Session, evs []engine.Event) *engine.State {
	t.Helper()
	f := foldEvents(throughJSON(t, evs))
	if got, want := stateJSON(t, f), stateJSON(t, live.State()); got != want {
		t.Fatalf("the journal folds to\n%s\nthe live session holds\n%s", got, want)
	}
	return f
}

func steps(vs []engine.Visit) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Step)
	}
	return out
}

// A per-host section: the parent's fold never takes a lane's events (its
// visits are the section's start and what follows the join); the decision
// out of the section gives the start step's visit every host's path and
// result, and an answer every host gave alike is the group's. A journal
// whose decision lacks them (written before it carried them) restores them
// from the lanes' events.
func TestPerHostSectionFolds(t *testing.T) {
	rb := mustLoad(t, perHostRunbook)
	allLost := func() *enginetest.Fake {
		return enginetest.New(
			enginetest.Rule{Match: `^ping `, Stdout: pingLost, Exit: 1},
			enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days,  2:03,  1 user,  load average: 0.08, 0.03, 0.01\n"},
		)
	}
	targets := nodes("h1", "h2", "h3")
	log := &eventLog{}
	s, err := engine.NewSession(rb, engine.Options{Executor: allLost(), Targets: targets, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptAsk || p.Step.ID != "cable" || len(p.Hosts) != 3 {
		t.Fatalf("want the cable question for the three hosts: %+v %v", p, err)
	}
	if err := s.Answer("no", "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated {
		t.Fatalf("want escalated: %+v %v", p, err)
	}
	f := journalFolds(t, s, log.evs)
	if got := steps(f.Visits()); !slices.Equal(got, []string{"ping", "summary", "escalate"}) {
		t.Fatalf("the parent's visits %v: a lane's steps are the lane's", got)
	}
	ping := f.Visits()[0]
	if len(ping.Paths) != 3 || len(ping.Results) != 3 || ping.Results[0].Host != "h1" || ping.Results[0].Exit != 1 {
		t.Fatalf("ping's visit: paths %+v results %+v", ping.Paths, ping.Results)
	}
	for _, hp := range ping.Paths {
		if got := len(hp.Steps); got != 2 || hp.Steps[1].Step != "cable" || hp.Steps[1].Answer != "no" {
			t.Errorf("%s's path %+v", hp.Host, hp.Steps)
		}
	}
	if a := f.Answers()["cable"]; a != "no" {
		t.Errorf("every host answered no: the group's answer is %q", a)
	}
	if ping.Status() != engine.StatusFailed {
		t.Errorf("ping failed on every host: status %s", ping.Status())
	}

	// The same journal without what the decision carries restores it.
	old := throughJSON(t, log.evs)
	for i := range old {
		if old[i].Expr == "per_host" {
			old[i].Paths, old[i].Results, old[i].Answers = nil, nil, nil
		}
	}
	r, err := engine.Restore(rb, engine.Options{Executor: allLost(), Targets: targets}, old)
	if err != nil {
		t.Fatal(err)
	}
	rp := r.State().Visits()[0]
	if !slices.EqualFunc(rp.Paths, ping.Paths, func(a, b engine.HostPath) bool { return a.Host == b.Host && len(a.Steps) == len(b.Steps) }) || len(rp.Results) != 3 || r.State().Answers()["cable"] != "no" {
		t.Fatalf("restored from a journal without them: paths %+v results %d answers %v", rp.Paths, len(rp.Results), r.State().Answers())
	}
	if d := r.Divergences(); len(d) != 1 || len(d[0].Paths) != 3 {
		t.Fatalf("divergences after restore: %+v", d)
	}
}

// A rerun for the failed hosts: the visit holds every host's result, kept
// and new, in the hosts' order, in the journal's fold as live.
func TestRerunFailedFolds(t *testing.T) {
	rb := mustLoad(t, onlyFailedRunbook)
	log := &eventLog{}
	s, err := engine.NewSession(rb, engine.Options{Executor: onlyFailedFake(errors.New("read tcp 127.0.0.1:50022: connection reset by peer")),
		Targets: nodes("h1", "h2", "h3", "h4"), OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := s.Advance(ctx); err != nil || p.Kind != engine.PromptError {
		t.Fatalf("%+v %v", p, err)
	}
	if err := s.RerunFailed(); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(ctx); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("%+v %v", p, err)
	}
	f := journalFolds(t, s, log.evs)
	v, _ := f.Visit(2)
	var hosts []string
	for _, r := range v.Results {
		hosts = append(hosts, r.Host)
	}
	if v.Step != "status" || !slices.Equal(hosts, []string{"h1", "h2", "h3", "h4"}) || v.Status() != engine.StatusPassed {
		t.Fatalf("the rerun's visit: %s results from %v, status %s", v.Step, hosts, v.Status())
	}
}

// A rollout resumed mid-way: the fix's visit holds the results of the
// hosts changed before the cut and of those changed after, in order, and
// the restored session's state is the fold of the journal it continues.
func TestResumedRolloutFolds(t *testing.T) {
	rb := mustLoad(t, rolloutRunbook)
	_, targets := tenNodes()
	log := &eventLog{}
	s, err := engine.NewSession(rb, engine.Options{Executor: rolloutFake(), Targets: targets, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Confirm(nil, "operator"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(ctx); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("%+v %v", p, err)
	}
	journalFolds(t, s, log.evs)
	// Cut before batch 3: the canary (n01) and batch 2 (n02..n04) ran.
	cut := slices.IndexFunc(log.evs, func(e engine.Event) bool {
		return e.Type == engine.EvRollout && strings.HasPrefix(e.Text, "batch 3:")
	})
	if cut < 0 {
		t.Fatalf("no batch 3 in %v", log.evs)
	}
	evs := append([]engine.Event(nil), log.evs[:cut]...)
	more := &eventLog{}
	fake := rolloutFake()
	r, err := engine.Restore(rb, engine.Options{Executor: fake, Targets: targets, OnEvent: more.add}, evs)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := r.Advance(ctx); err != nil || p.Kind != engine.PromptConfirm || !r.Interrupted() {
		t.Fatalf("want the rollout offered again: %+v %v", p, err)
	}
	if err := r.Confirm(nil, "operator"); err != nil {
		t.Fatal(err)
	}
	p, err := r.Advance(ctx)
	for i := 0; err == nil && p.Kind != engine.PromptEnd && i < 10; i++ {
		p, err = r.Advance(ctx)
	}
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved {
		t.Fatalf("want resolved: %+v %v", p, err)
	}
	if got := ranOn(fake, "systemctl restart"); len(got) != 6 {
		t.Fatalf("after the resume the fix ran on %v, want the six hosts not yet changed", got)
	}
	f := journalFolds(t, r, append(evs, more.evs...))
	v, _ := f.Last("restart")
	var hosts []string
	for _, hr := range v.Results {
		hosts = append(hosts, hr.Host)
	}
	names, _ := tenNodes()
	if !slices.Equal(hosts, names) {
		t.Fatalf("the fix's visit holds results from %v, want all ten in order", hosts)
	}
}

// A timed wait without a probe is satisfied when its time came: the fold
// of its journal says so, as the live session does.
func TestTimedWaitFolds(t *testing.T) {
	rb, ds := engine.CheckFile("testdata/wait/entropy.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	log := &eventLog{}
	clock := engine.NewSteppedClock(time.Date(2026, 12, 1, 23, 41, 7, 0, time.UTC))
	s, err := engine.NewSession(rb, engine.Options{Executor: entropyFake("3021"), Targets: node, Clock: clock, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(context.Background()); err != nil || p.Kind != engine.PromptAsk {
		t.Fatalf("%+v %v", p, err)
	}
	f := journalFolds(t, s, log.evs)
	v, ok := f.Last("midnight")
	if !ok || v.Satisfied == nil || !*v.Satisfied || v.Status() != engine.StatusPassed {
		t.Fatalf("midnight's visit: %+v", v)
	}
	if !strings.HasPrefix(v.Ended.Format(time.RFC3339), "2026-12-02T00:00:00") {
		t.Errorf("the wait ended at %v, want midnight", v.Ended)
	}
}

// A group step's results, arriving in any order, are the visit's in the
// order the commands were announced; a copy handed out before later
// results never changes; and folding them costs memory linear in the hosts
// (rebuilding the list at every result had cost a 1 000-host step
// O(hosts²): ~75 MB for one probe).
func TestFoldGroupResultsInPlace(t *testing.T) {
	fold := func(n int, keep func(*engine.State, int)) *engine.State {
		st := engine.NewState("probe")
		st.Apply(engine.Event{Type: engine.EvStepEnter, Step: "probe"})
		for i := range n {
			st.Apply(engine.Event{Type: engine.EvCommand, Step: "probe", Host: fmt.Sprintf("h%04d", i), Command: "true"})
		}
		// Hosts finish out of order, as 32 at a time do.
		for w := 0; w < n; w += 32 {
			for i := min(w+31, n-1); i >= w; i-- {
				exit := i % 3
				st.Apply(engine.Event{Type: engine.EvResult, Step: "probe", Host: fmt.Sprintf("h%04d", i), Exit: &exit})
				if keep != nil {
					keep(st, i)
				}
			}
		}
		return st
	}
	var early engine.Visit
	st := fold(100, func(st *engine.State, i int) {
		if i == 40 { // results of hosts 32..63 come 63 first: 24 of them by now
			early, _ = st.InProgress()
		}
	})
	v, _ := st.InProgress()
	if len(v.Results) != 100 {
		t.Fatalf("%d results", len(v.Results))
	}
	for i, r := range v.Results {
		if r.Host != fmt.Sprintf("h%04d", i) || r.Exit != i%3 {
			t.Fatalf("result %d is %s exit %d", i, r.Host, r.Exit)
		}
	}
	if len(early.Results) != 32+24 || early.Results[31].Host != "h0031" || early.Results[32].Host != "h0040" {
		t.Errorf("the copy taken mid-step changed or was wrong: %d results, [32] %s", len(early.Results), early.Results[32].Host)
	}
	alloc := func(n int) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		fold(n, nil)
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	small, big := alloc(500), alloc(4000)
	if ratio := float64(big) / float64(small); ratio > 20 { // ~10 when linear (slices double), 64 when quadratic
		t.Errorf("folding 4 000 results allocates %.1f× what 500 do (%d vs %d bytes): not linear", ratio, big, small)
	}
}
