package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

func entropyFake(avail string) *enginetest.Fake {
	return enginetest.New(
		enginetest.Rule{Match: `^cat /proc/sys/kernel/random/entropy_avail$`, Stdout: avail + "\n"},
		enginetest.Rule{Match: `^systemctl start rngd$`},
	)
}

// TestWaitUntilMidnightTheNextDay: "wait until 00:00 the next day" on the
// session clock: entered at 23:41:07, the session goes on at 00:00:00 and
// not a second later; the journal says when the wait ends.
func TestWaitUntilMidnightTheNextDay(t *testing.T) {
	rb, ds := engine.CheckFile("testdata/wait/entropy.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	clock := engine.NewSteppedClock(time.Date(2026, 12, 1, 23, 41, 7, 0, time.UTC))
	var until []string
	s, err := engine.NewSession(rb, engine.Options{Executor: entropyFake("3021"), Targets: node, Clock: clock,
		OnEvent: func(e engine.Event) {
			if e.Type == engine.EvWaitUntil {
				until = append(until, e.Step+" "+e.Text)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptAsk || p.Step.ID != "cleared" {
		t.Fatalf("got %+v %v", p, err)
	}
	if got := clock.Now(); !got.Equal(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("clock after the wait: %v, want midnight", got)
	}
	if len(until) != 1 || until[0] != "midnight 2026-12-02T00:00:00Z" {
		t.Errorf("wait.until events %q", until)
	}
}

// TestWaitAtMidnightExactly: at 00:00:00 itself "the next 00:00" is a day on.
func TestWaitAtMidnightExactly(t *testing.T) {
	rb, _ := engine.CheckFile("testdata/wait/entropy.yaml")
	clock := engine.NewSteppedClock(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	s, _ := engine.NewSession(rb, engine.Options{Executor: entropyFake("3021"), Targets: node, Clock: clock})
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := clock.Now(); !got.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("clock %v, want the next midnight", got)
	}
}

// TestWaitForComputedDuration: the settle time is a param plus 30 s,
// worked out when the step starts.
func TestWaitForComputedDuration(t *testing.T) {
	rb, _ := engine.CheckFile("testdata/wait/entropy.yaml")
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := engine.NewSteppedClock(start)
	var settled time.Time
	s, err := engine.NewSession(rb, engine.Options{Executor: entropyFake("41"), Targets: node, Clock: clock,
		Params: map[string]string{"settle": "2m"},
		OnEvent: func(e engine.Event) {
			if e.Type == engine.EvStepEnter && e.Step == "midnight" {
				settled = clock.Now()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	for i := 0; err == nil && p.Kind == engine.PromptConfirm && i < 3; i++ {
		if err = s.Confirm(nil, "operator"); err == nil {
			p, err = s.Advance(context.Background())
		}
	}
	if err != nil || p.Step.ID != "cleared" {
		t.Fatalf("got %+v %v", p, err)
	}
	if want := start.Add(2*time.Minute + 30*time.Second); !settled.Equal(want) {
		t.Errorf("settled at %v, want %v", settled, want)
	}
}

// TestWaitUntilResumes: the process dies during the wait; a session
// restored at 23:59 waits for the same midnight (not the one after), and
// one restored after midnight goes on at once.
func TestWaitUntilResumes(t *testing.T) {
	rb, _ := engine.CheckFile("testdata/wait/entropy.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	var evs []engine.Event
	clock := engine.NewSteppedClock(time.Date(2026, 12, 1, 23, 41, 7, 0, time.UTC))
	s, _ := engine.NewSession(rb, engine.Options{Executor: entropyFake("3021"), Targets: node, Clock: clock,
		OnEvent: func(e engine.Event) {
			evs = append(evs, e)
			if e.Type == engine.EvWaitUntil {
				cancel() // the process dies while it waits
			}
		}})
	if _, err := s.Advance(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the wait cut off, got %v", err)
	}
	for _, c := range []struct {
		restart, after time.Time
	}{
		{time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 2, 0, 5, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 5, 0, 0, time.UTC)},
	} {
		clock := engine.NewSteppedClock(c.restart)
		r, err := engine.Restore(rb, engine.Options{Executor: enginetest.New(), Targets: node, Clock: clock}, evs)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Advance(context.Background())
		if err != nil || p.Step.ID != "cleared" {
			t.Fatalf("restart %v: %+v %v", c.restart, p, err)
		}
		if !clock.Now().Equal(c.after) {
			t.Errorf("restart at %v: went on at %v, want %v", c.restart, clock.Now(), c.after)
		}
	}
}

// TestLintTimedWaits: a bad time of day, a bad expression, half a probe.
func TestLintTimedWaits(t *testing.T) {
	base := "runbook: 1\nid: w\ntitle: W\ntargets:\n  n: {description: n}\nsteps:\n  - id: w\n    wait: %s\n    next: done\n  - id: done\n    end: resolved\n"
	for _, c := range []struct{ wait, want string }{
		{`{at: "24:00"}`, `w.yaml:8:16: error: wait.at "24:00" is not a time of day`},
		{`{for: 'duration(params.nope)'}`, `w.yaml:8:`},
		{`{at: "00:00", for: "10m"}`, `wait has both at and for`},
		{`{at: "00:00", run: {on: n, cmd: "true"}}`, `timed wait with a probe needs run, until and timeout`},
	} {
		_, ds := engine.Check("w.yaml", []byte(sprintf(base, c.wait)))
		if !containsDiag(ds, c.want) {
			t.Errorf("%s: want %q in\n%v", c.wait, c.want, ds)
		}
	}
	if rb, ds := engine.Check("w.yaml", []byte(sprintf(base, `{at: "07:30"}`))); rb == nil {
		t.Errorf("clean timed wait: %v", ds)
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }

func containsDiag(ds engine.Diagnostics, want string) bool {
	for _, d := range ds {
		if strings.Contains(d.String(), want) {
			return true
		}
	}
	return false
}
