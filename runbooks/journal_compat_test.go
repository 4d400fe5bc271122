package runbooks_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/scenario"
)

// testdata/journals/fsr-split-brain.v1.jsonl was written by `runbook demo
// fsr-split-brain --scenario split-brain --auto` with the code before the
// engine's fold (State.Apply) existed; the scenario it ran is beside it.
// Journals already on disk must keep resuming.
const (
	oldJournal  = "testdata/journals/fsr-split-brain.v1.jsonl"
	oldScenario = "testdata/journals/fsr-split-brain.split-brain.yaml"
)

var oldPath = []string{"detect-split-brain", "choose-victim", "discard-my-data", "wait-resync", "sb-resolved"}

func loadOldJournal(t *testing.T) (journal.Header, []engine.Event, *engine.Runbook, *scenario.Scenario) {
	t.Helper()
	h, evs, err := journal.Read(oldJournal)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := engine.Load(h.File, []byte(h.Source))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(oldScenario)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load(oldScenario, data)
	if err != nil {
		t.Fatal(err)
	}
	return h, evs, rb, sc
}

// The whole journal folds to the walk it recorded.
func TestOldJournalFolds(t *testing.T) {
	_, evs, _, _ := loadOldJournal(t)
	f := engine.NewState("")
	for _, e := range evs {
		f.Apply(e)
	}
	var steps []string
	for _, v := range f.Visits() {
		steps = append(steps, v.Step)
		if v.Step != "sb-resolved" && v.Decision == nil {
			t.Errorf("visit %d (%s) has no decision", v.N, v.Step)
		}
	}
	if !slices.Equal(steps, oldPath) {
		t.Fatalf("path %v, want %v", steps, oldPath)
	}
	if ended, o, _ := f.Ended(); !ended || o != engine.OutcomeResolved {
		t.Fatalf("ended %v %s", ended, o)
	}
	if a := f.Answers()["choose-victim"]; a != "discard" {
		t.Fatalf("answer %q", a)
	}
	vs := f.Visits()
	if d := vs[0]; len(d.Results) != 2 || d.Results[0].Host != "node2" || d.Results[1].Host != "node3" || d.Results[0].Captures["resource"] != "r0" {
		t.Fatalf("detect results (want node2 then node3, resource=r0): %+v", d.Results)
	}
	// The second poll's results were journaled node3 first: the visit
	// keeps them in the order the commands went out.
	if w := vs[3]; w.Polls != 2 || w.Satisfied == nil || !*w.Satisfied || len(w.Results) != 2 || w.Results[0].Host != "node2" {
		t.Fatalf("wait: polls %d satisfied %v results %+v", w.Polls, w.Satisfied, w.Results)
	}
	if f.Status("wait-resync") != engine.StatusPassed || f.Count("wait-resync") != 1 || f.Status("nowhere") != "" {
		t.Fatalf("status %q count %d", f.Status("wait-resync"), f.Count("wait-resync"))
	}
	if fx := vs[2]; fx.Confirmed == "" || fx.Status() != engine.StatusPassed {
		t.Fatalf("fix: confirmed by %q, status %s", fx.Confirmed, fx.Status())
	}
}

// Cut the old journal after every event and resume unattended: every cut
// restores; once the fix's results are journaled the walk ends as the
// original did on the same path and the fix never runs again; before, it
// stops at the fix as a fresh unattended run of that runbook does today.
func TestOldJournalResumesFromEveryPrefix(t *testing.T) {
	h, evs, rb, sc := loadOldJournal(t)
	pol := auto.Policy{Answers: sc.Answers, AllowFix: sc.AllowFix, AllowDestructive: sc.AllowDestr, Inputs: sc.Inputs}
	for k := 0; k <= len(evs); k++ {
		prefix := evs[:k]
		fixResults := 0
		for _, e := range prefix {
			if e.Type == engine.EvResult && e.Step == "discard-my-data" {
				fixResults++
			}
		}
		opts, _ := scenarioOptions(sc)
		opts.Params = h.Params
		fixSent := 0
		opts.OnEvent = func(e engine.Event) {
			if e.Type == engine.EvCommand && e.Step == "discard-my-data" {
				fixSent++
			}
		}
		s, err := engine.Restore(rb, opts, prefix)
		if err != nil {
			t.Fatalf("prefix %d: %v", k, err)
		}
		res := auto.Run(context.Background(), s, pol)
		if fixResults < 2 {
			// This journal's runbook predates rollouts, and an unattended
			// run now refuses a destructive fix on two hosts at once
			// without one: the resumed walk stops there, on the same path
			// as a fresh run, and sends nothing.
			if res.Outcome != auto.NeedsHuman || res.Stopped == nil || res.Stopped.Step != "discard-my-data" ||
				!strings.Contains(res.Stopped.Reason, "no rollout") || !slices.Equal(pathOf(res), oldPath[:3]) || fixSent != 0 {
				t.Fatalf("prefix %d (last %s, fix results journaled %d): outcome %s path %v, stopped %+v, fix sent to %d hosts", k, lastType(prefix), fixResults, res.Outcome, pathOf(res), res.Stopped, fixSent)
			}
			continue
		}
		if res.Outcome != auto.Resolved || !slices.Equal(pathOf(res), oldPath) {
			t.Fatalf("prefix %d (last %s): outcome %s path %v, errors %v", k, lastType(prefix), res.Outcome, pathOf(res), res.Errors)
		}
		if fixResults == 2 && fixSent > 0 {
			t.Fatalf("prefix %d: the fix had both results journaled and was sent again", k)
		}
	}
}

func lastType(evs []engine.Event) engine.EventType {
	if len(evs) == 0 {
		return ""
	}
	return evs[len(evs)-1].Type
}
