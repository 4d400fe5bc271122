package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const restoreRunbook = `runbook: 1
id: rt
title: restore test
targets:
  h: {description: host}
steps:
  - id: probe
    ref: "1"
    run: {on: h, cmd: "probe"}
    capture: {used: '(\d+)%'}
    branches:
      - {if: "int(used) >= 90", goto: ask}
    else: ok
  - id: ask
    ask: Clean up?
    choices: {"yes": clean, "no": escalate}
    auto: "yes"
  - id: clean
    fix: {on: h, cmd: "clean {{ steps['probe'].used }}"}
    next: verify
  - id: verify
    run: {on: h, cmd: "verify"}
    branches: [{if: "exit == 0", goto: ok}]
    else: escalate
  - id: ok
    end: resolved
  - id: escalate
    end: escalated
`

func loadRestoreRunbook(t *testing.T) *engine.Runbook {
	t.Helper()
	rb, err := engine.Load("rt.yaml", []byte(restoreRunbook))
	if err != nil {
		t.Fatal(err)
	}
	if ds := engine.Lint(rb).Errors(); len(ds) > 0 {
		t.Fatal(ds)
	}
	return rb
}

func restoreFake() *enginetest.Fake {
	return enginetest.New(
		enginetest.Rule{Match: `^probe$`, Stdout: "/dev/sda1 93% /\n"},
		enginetest.Rule{Match: `^clean 93$`},
		enginetest.Rule{Match: `^verify$`},
	)
}

func restoreOpts(ex engine.Executor, evs *[]engine.Event) engine.Options {
	return engine.Options{
		Executor: ex,
		Targets:  map[string][]engine.Host{"h": {{Role: "h", Name: "local"}}},
		OnEvent:  func(e engine.Event) { *evs = append(*evs, e) },
	}
}

// drive answers every prompt the way a permissive --auto would, and returns
// the outcome and the steps offered again as interrupted.
func drive(t *testing.T, s *engine.Session) (engine.Outcome, []string) {
	t.Helper()
	var interrupted []string
	for range 100 {
		p, err := s.Advance(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Interrupted() {
			interrupted = append(interrupted, string(p.Kind)+":"+p.Step.ID)
		}
		switch p.Kind {
		case engine.PromptEnd:
			return p.Outcome, interrupted
		case engine.PromptAsk:
			if err := s.Answer("yes", "test"); err != nil {
				t.Fatal(err)
			}
		case engine.PromptConfirm:
			if err := s.Confirm(nil, "test"); err != nil {
				t.Fatal(err)
			}
		case engine.PromptRun, engine.PromptDecided:
			if err := s.Proceed(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected prompt %s at %s: %v", p.Kind, p.Step.ID, p.Err)
		}
	}
	t.Fatal("no end")
	return "", nil
}

// Cut the journal after every event, restore, finish the walk: the fix runs
// exactly once over both processes, captures survive, and the outcome is the
// one an uninterrupted run reaches.
func TestRestoreFromEveryPrefix(t *testing.T) {
	rb := loadRestoreRunbook(t)
	var full []engine.Event
	s, err := engine.NewSession(rb, restoreOpts(restoreFake(), &full))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := drive(t, s); o != engine.OutcomeResolved {
		t.Fatalf("uninterrupted run: %s", o)
	}
	for k := 0; k <= len(full); k++ {
		prefix := full[:k]
		fixDone := false
		for _, e := range prefix {
			if e.Type == engine.EvResult && e.Step == "clean" {
				fixDone = true
			}
		}
		fake := restoreFake()
		var evs []engine.Event
		s, err := engine.Restore(rb, restoreOpts(fake, &evs), prefix)
		if err != nil {
			t.Fatalf("prefix %d: %v", k, err)
		}
		o, _ := drive(t, s)
		if o != engine.OutcomeResolved {
			t.Fatalf("prefix %d: outcome %s", k, o)
		}
		ranFix := fake.Ran(`^clean`)
		if fixDone && ranFix {
			t.Fatalf("prefix %d (up to %s %s): completed fix ran again", k, prefix[k-1].Type, prefix[k-1].Step)
		}
		if !fixDone && !ranFix {
			t.Fatalf("prefix %d: fix never ran", k)
		}
		if k > 0 && len(evs) > 0 && evs[0].Seq <= prefix[k-1].Seq {
			t.Fatalf("prefix %d: sequence restarted at %d", k, evs[0].Seq)
		}
	}
}

func cutAfter(t *testing.T, evs []engine.Event, typ engine.EventType, step string) []engine.Event {
	t.Helper()
	for i, e := range evs {
		if e.Type == typ && e.Step == step {
			return evs[:i+1]
		}
	}
	t.Fatalf("no %s event for %s", typ, step)
	return nil
}

func fullRun(t *testing.T, rb *engine.Runbook) []engine.Event {
	var full []engine.Event
	s, err := engine.NewSession(rb, restoreOpts(restoreFake(), &full))
	if err != nil {
		t.Fatal(err)
	}
	drive(t, s)
	return full
}

func TestRestoreConfirmedFixWithoutResultIsOfferedAgainInterrupted(t *testing.T) {
	rb := loadRestoreRunbook(t)
	prefix := cutAfter(t, fullRun(t, rb), engine.EvConfirm, "clean")
	var evs []engine.Event
	fake := restoreFake()
	s, err := engine.Restore(rb, restoreOpts(fake, &evs), prefix)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptConfirm || p.Step.ID != "clean" || !s.Interrupted() {
		t.Fatalf("got %s at %s, interrupted=%v", p.Kind, p.Step.ID, s.Interrupted())
	}
	if fake.Ran(".") {
		t.Fatalf("restore ran commands: %v", fake.Calls())
	}
	if s.Answers()["ask"] != "yes" {
		t.Fatalf("answers not restored: %v", s.Answers())
	}
	var marked bool
	for _, e := range evs {
		marked = marked || e.Type == engine.EvInterrupted && e.Step == "clean" && strings.Contains(e.Text, "no result")
	}
	if !marked {
		t.Fatalf("no step.interrupted event: %+v", evs)
	}
	// The capture from before the crash renders into the fix.
	if err := s.Confirm(nil, "test"); err != nil {
		t.Fatal(err)
	}
	if o, _ := drive(t, s); o != engine.OutcomeResolved || !fake.Ran(`^clean 93$`) {
		t.Fatalf("outcome %s, calls %v", o, fake.Calls())
	}
	h := s.History()
	var steps []string
	for _, v := range h {
		steps = append(steps, v.Step)
	}
	if got := strings.Join(steps, " "); got != "probe ask clean verify ok" {
		t.Fatalf("history %q", got)
	}
	if !h[2].Interrupted || h[3].Interrupted {
		t.Fatalf("interrupted marks: %+v", h)
	}
}

func TestRestoreProbeCutOffRunsAgain(t *testing.T) {
	rb := loadRestoreRunbook(t)
	prefix := cutAfter(t, fullRun(t, rb), engine.EvCommand, "verify")
	var evs []engine.Event
	fake := restoreFake()
	s, err := engine.Restore(rb, restoreOpts(fake, &evs), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Interrupted() || s.Current().ID != "verify" {
		t.Fatalf("at %s interrupted=%v", s.Current().ID, s.Interrupted())
	}
	if o, _ := drive(t, s); o != engine.OutcomeResolved {
		t.Fatal(o)
	}
	if fake.Ran(`^clean`) || !fake.Ran(`^verify$`) {
		t.Fatalf("calls %v", fake.Calls())
	}
	if n := len(s.History()); n != 5 {
		t.Fatalf("the interrupted visit should be reused, history %d", n)
	}
}

func TestRestorePendingAskIsNotInterrupted(t *testing.T) {
	rb := loadRestoreRunbook(t)
	prefix := cutAfter(t, fullRun(t, rb), engine.EvStepEnter, "ask")
	var evs []engine.Event
	s, err := engine.Restore(rb, restoreOpts(restoreFake(), &evs), prefix)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptAsk || s.Interrupted() {
		t.Fatalf("%+v %v interrupted=%v", p, err, s.Interrupted())
	}
	// The decision that led here is known, with the capture behind it.
	if d := s.History()[0].Decision; d == nil || d.Next != "ask" || s.History()[0].Results[0].Captures["used"] != "93" {
		t.Fatalf("history not restored: %+v", s.History()[0])
	}
}

func TestRestoreEndedSession(t *testing.T) {
	rb := loadRestoreRunbook(t)
	full := fullRun(t, rb)
	var evs []engine.Event
	fake := restoreFake()
	s, err := engine.Restore(rb, restoreOpts(fake, &evs), full)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved || len(fake.Calls()) != 0 {
		t.Fatalf("%+v %v %v", p, err, fake.Calls())
	}
}

func TestRestoreStepModeShowsUnacceptedDecision(t *testing.T) {
	rb := loadRestoreRunbook(t)
	var full []engine.Event
	opts := restoreOpts(restoreFake(), &full)
	opts.StepMode = true
	s, err := engine.NewSession(rb, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(context.Background()) // PromptRun
	s.Proceed()
	p, _ := s.Advance(context.Background())
	if p.Kind != engine.PromptDecided {
		t.Fatalf("setup: %s", p.Kind)
	}
	var evs []engine.Event
	opts2 := restoreOpts(restoreFake(), &evs)
	opts2.StepMode = true
	r, err := engine.Restore(rb, opts2, full)
	if err != nil {
		t.Fatal(err)
	}
	p, err = r.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptDecided || p.Decision.Next != "ask" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestRestoreUnknownStepFails(t *testing.T) {
	rb := loadRestoreRunbook(t)
	var evs []engine.Event
	_, err := engine.Restore(rb, restoreOpts(restoreFake(), &evs), []engine.Event{{Seq: 1, Type: engine.EvStepEnter, Step: "gone"}})
	if err == nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Fatalf("err %v", err)
	}
}

func TestMissingAtStartAndCaptures(t *testing.T) {
	rb := loadRestoreRunbook(t)
	miss := engine.MissingAtStart(rb, "clean", nil)
	if len(miss) != 1 || miss[0].String() != "probe.used" || miss[0].UsedBy != "clean" {
		t.Fatalf("missing %v", miss)
	}
	if m := engine.MissingAtStart(rb, "clean", map[string]map[string]string{"1": {"used": "95"}}); len(m) != 0 {
		t.Fatalf("given by ref still missing: %v", m)
	}
	if m := engine.MissingAtStart(rb, "probe", nil); len(m) != 0 {
		t.Fatalf("first step: %v", m)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^clean 95$`}, enginetest.Rule{Match: `^verify$`})
	var evs []engine.Event
	opts := restoreOpts(fake, &evs)
	opts.StartAt = "clean"
	opts.Captures = map[string]map[string]string{"probe": {"used": "95"}}
	s, err := engine.NewSession(rb, opts)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := drive(t, s); o != engine.OutcomeResolved || !fake.Ran(`^clean 95$`) {
		t.Fatalf("%s %v", o, fake.Calls())
	}
	opts.Captures = map[string]map[string]string{"nope": {"x": "1"}}
	if _, err := engine.NewSession(rb, opts); err == nil {
		t.Fatal("capture for an unknown step accepted")
	}
}

func stateJSON(t *testing.T, f *engine.State) string {
	t.Helper()
	ended, o, msg := f.Ended()
	b, err := json.Marshal([]any{f.Visits(), f.Current(), ended, o, msg, f.Answers()})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// In step mode too (every probe and decision paused for the operator),
// the journal folds to the live session's state at every event, and a
// session restored from any prefix holds the fold of that prefix plus what
// resuming added.
func TestRestoreStateAgreesWithLiveInStepMode(t *testing.T) {
	rb := loadRestoreRunbook(t)
	var full []engine.Event
	var live []string
	var s *engine.Session
	opts := restoreOpts(restoreFake(), &full)
	opts.StepMode = true
	opts.OnEvent = func(e engine.Event) {
		full = append(full, e)
		live = append(live, stateJSON(t, s.State()))
	}
	s, err := engine.NewSession(rb, opts)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := drive(t, s); o != engine.OutcomeResolved {
		t.Fatalf("uninterrupted run: %s", o)
	}
	for k := 1; k <= len(full); k++ {
		prefix := full[:k]
		f := engine.NewState(rb.Steps[0].ID)
		for _, e := range prefix {
			f.Apply(e)
		}
		if got := stateJSON(t, f); got != live[k-1] {
			t.Fatalf("after event %d (%s %s): journal folds to\n%s\nlive\n%s", k, prefix[k-1].Type, prefix[k-1].Step, got, live[k-1])
		}
		var added []engine.Event
		ropts := restoreOpts(restoreFake(), &added)
		ropts.StepMode = true
		r, err := engine.Restore(rb, ropts, prefix)
		if err != nil {
			t.Fatalf("prefix %d: %v", k, err)
		}
		for _, e := range added {
			f.Apply(e)
		}
		if got, want := stateJSON(t, r.State()), stateJSON(t, f); got != want {
			t.Fatalf("prefix %d (%s %s): restored\n%s\nfold\n%s", k, prefix[k-1].Type, prefix[k-1].Step, got, want)
		}
		if o, _ := drive(t, r); o != engine.OutcomeResolved {
			t.Fatalf("prefix %d: resumed outcome %s", k, o)
		}
	}
}
