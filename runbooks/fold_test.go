package runbooks_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

// foldView is what a State says about the walk, as JSON so times and
// maps compare by value.
func foldView(t *testing.T, f *engine.State) string {
	t.Helper()
	ended, outcome, msg := f.Ended()
	b, err := json.Marshal(struct {
		Visits  []engine.Visit
		Current string
		Path    []string
		Ended   bool
		Outcome engine.Outcome
		Message string
		Answers map[string]string
	}{f.Visits(), f.Current(), f.Path(), ended, outcome, msg, f.Answers()})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func scenarioOptions(s *scenario.Scenario) (engine.Options, *engine.SteppedClock) {
	clock := engine.NewSteppedClock(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC))
	ex := scenario.NewExecutor(s)
	ex.Now = clock.Now
	return engine.Options{Executor: ex, Targets: s.Bindings(), Params: s.Params, Clock: clock}, clock
}

// TestReplayAgreesWithLive walks every shipped scenario and, at every event
// prefix, checks that the journal (the events so far, through JSON) folds
// to exactly the state the live session holds, and that Restore from that
// prefix holds the fold of the prefix plus what resuming added (the resume
// event, an interrupted mark, a decision it could make from the journal):
// the live session and restore follow the same rules.
func TestReplayAgreesWithLive(t *testing.T) {
	rbs := shipped(t)
	for id, list := range scenarios(t) {
		rb := rbs[id]
		if rb == nil {
			continue
		}
		for _, sf := range list {
			t.Run(id+"/"+sf.s.Name, func(t *testing.T) { replayAgrees(t, rb, sf.s) })
		}
	}
	// The examples use more of the language (table and JSON captures).
	exs, _ := filepath.Glob("../examples/*.yaml")
	for _, f := range exs {
		rb, err := engine.LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scs, _ := filepath.Glob(filepath.Join("../examples/scenarios", rb.ID, "*.yaml"))
		for _, sf := range scs {
			data, err := os.ReadFile(sf)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenario.Load(sf, data)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("examples/"+rb.ID+"/"+sc.Name, func(t *testing.T) { replayAgrees(t, rb, sc) })
		}
	}
}

func replayAgrees(t *testing.T, rb *engine.Runbook, sc *scenario.Scenario) {
	opts, _ := scenarioOptions(sc)
	var sess *engine.Session
	var journal [][]byte
	var live []string
	opts.OnEvent = func(e engine.Event) {
		b, err := json.Marshal(e)
		if err != nil {
			t.Error(err)
		}
		journal = append(journal, b)
		live = append(live, foldView(t, sess.State()))
	}
	var err error
	if sess, err = engine.NewSession(rb, opts); err != nil {
		t.Fatal(err)
	}
	pol := auto.Policy{Answers: sc.Answers, AllowFix: sc.AllowFix, AllowDestructive: sc.AllowDestr,
		AssumeDone: map[string]bool{}, Inputs: sc.Inputs}
	for _, a := range sc.AssumeDone {
		pol.AssumeDone[a] = true
	}
	res := auto.Run(context.Background(), sess, pol)
	if len(journal) < 3 || res.Outcome == "" {
		t.Fatalf("walk: %d events, outcome %q", len(journal), res.Outcome)
	}
	decode := func(k int) []engine.Event {
		evs := make([]engine.Event, k)
		for i := range k {
			if err := json.Unmarshal(journal[i], &evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		return evs
	}
	for k := 1; k <= len(journal); k++ {
		prefix := decode(k)
		fold := engine.NewState(rb.Steps[0].ID)
		for _, e := range prefix {
			fold.Apply(e)
		}
		if got := foldView(t, fold); got != live[k-1] {
			t.Fatalf("after event %d (%s %s): the journal folds to\n%s\nthe live session holds\n%s",
				k, prefix[k-1].Type, prefix[k-1].Step, got, live[k-1])
		}
		ropts, _ := scenarioOptions(sc)
		var added []engine.Event
		ropts.OnEvent = func(e engine.Event) { added = append(added, e) }
		r, err := engine.Restore(rb, ropts, prefix)
		if err != nil {
			t.Fatalf("restore after event %d (%s %s): %v", k, prefix[k-1].Type, prefix[k-1].Step, err)
		}
		for _, e := range added {
			fold.Apply(e)
		}
		if got, want := foldView(t, r.State()), foldView(t, fold); got != want {
			t.Fatalf("restore after event %d (%s %s) holds\n%s\nthe journal and what resuming added fold to\n%s",
				k, prefix[k-1].Type, prefix[k-1].Step, got, want)
		}
		if r.Current().ID != fold.Current() {
			if p := r.Pending(); p == nil || p.Kind != engine.PromptDecided {
				t.Fatalf("restore after event %d: at %s, the fold at %s", k, r.Current().ID, fold.Current())
			}
		}
	}
}
