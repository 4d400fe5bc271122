package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/outline"
)

// uiClock is the TUI's clock in a test: frames read it, the test moves it.
type uiClock struct{ now time.Time }

func (c *uiClock) Now() time.Time { return c.now }

// TestWaitHeaderIsRightAtEveryFrame: elapsed counts from the wait's own
// start (not a stale tick), and the time left falls at every frame, not
// only when a poll ends.
func TestWaitHeaderIsRightAtEveryFrame(t *testing.T) {
	clk := &uiClock{now: fixedNow}
	h := newHarness(t, "wait.yaml", enginetest.New(), func(c *Config) { c.Now = clk.Now })
	h.settle()
	h.wantPrompt(engine.PromptRun, "wait-up")
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 50}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		// The last frame was long ago: 40 s of thinking before enter.
		clk.now = fixedNow.Add(40 * time.Second)
		_ = h.m.act("waiting", nil) // the act's command is not run: the test plays its events
		start := clk.now
		h.m.applyEvents([]taggedEvent{
			{run: h.m.run, ev: engine.Event{Type: engine.EvStepEnter, Step: "wait-up", Time: start}},
			{run: h.m.run, ev: engine.Event{Type: engine.EvCommand, Step: "wait-up", Host: "local", Command: "systemctl is-active demo", Time: start}},
		})
		frame := func(after time.Duration) {
			t.Helper()
			clk.now = start.Add(after)
			h.send(tickMsg{run: h.m.run, t: clk.now})
		}
		frame(5 * time.Second)
		h.mustSee("elapsed 5s", "poll 1", "55s left")
		h.m.applyEvents([]taggedEvent{
			{run: h.m.run, ev: engine.Event{Type: engine.EvResult, Step: "wait-up", Host: "local", Exit: new(3), Duration: 1, Time: start.Add(time.Second)}},
			{run: h.m.run, ev: engine.Event{Type: engine.EvPoll, Step: "wait-up", Poll: 1, Duration: 1, Time: start.Add(time.Second)}},
		})
		frame(7 * time.Second) // between polls: left moves anyway
		h.mustSee("elapsed 7s", "1 poll done", "53s left")
		h.mustNotSee("59s left")
		frame(11 * time.Second)
		h.mustSee("elapsed 11s", "49s left")
		h.m.applyEvents([]taggedEvent{
			{run: h.m.run, ev: engine.Event{Type: engine.EvCommand, Step: "wait-up", Host: "local", Command: "systemctl is-active demo", Time: start.Add(11 * time.Second)}},
		})
		frame(12 * time.Second)
		h.mustSee("poll 2", "48s left")
		frame(90 * time.Second) // past the timeout: never negative
		h.mustSee("0s left")
		h.m.cancel()
		h.m.state = stateAsking
	}
}

// TestWaitGlyphFollowsTheOutcome: a wait satisfied by a non-zero exit
// (the alarm is gone: grep finds nothing) is a ✓, not a red ✗.
func TestWaitGlyphFollowsTheOutcome(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: `^grep -w 45641`, Stdout: "ALM-45641 major\n", Times: 1},
		enginetest.Rule{Match: `^grep -w 45641`, Exit: 1},
	)
	h := newHarness(t, "wait-cleared.yaml", fake, func(c *Config) { c.Options.Clock = &testClock{now: fixedNow} })
	h.settle()
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "wait-clear")
	if got := h.m.outline.Mark("wait-clear"); got != outline.Passed {
		t.Fatalf("satisfied wait marked %q, want ✓\n%s", got.Glyph(), h.screen())
	}
	h.press("enter")
	h.mustSee("1. ✓ 9 Wait until the alarm is cleared")
}

// TestWaitTimedOutIsAFailure: a wait that never held is a ✗.
func TestWaitTimedOutIsAFailure(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^grep -w 45641`, Stdout: "ALM-45641 major\n"})
	h := newHarness(t, "wait-cleared.yaml", fake, func(c *Config) { c.Options.Clock = &testClock{now: fixedNow} })
	h.settle()
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "wait-clear")
	if got := h.m.outline.Mark("wait-clear"); got != outline.Failed {
		t.Fatalf("timed-out wait marked %q, want ✗", got.Glyph())
	}
}

// TestHelpHasAGlyphLegend: every glyph the outline and the tree draw is
// explained in help.
func TestHelpHasAGlyphLegend(t *testing.T) {
	h := newHarness(t, "wait.yaml", enginetest.New())
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 120, Height: 35})
	h.press("?")
	sc := h.screen()
	for _, want := range []string{"✓ passed", "✗ failed", "● answered", "○ visited", "▶ current"} {
		if !strings.Contains(sc, want) {
			t.Errorf("help lacks %q:\n%s", want, sc)
		}
	}
}

// TestWaitHeaderFollowsTheSessionClock: a demo's clock runs fast; the
// header counts in the clock the wait's polls and timeout count in.
func TestWaitHeaderFollowsTheSessionClock(t *testing.T) {
	demo := &testClock{now: fixedNow.Add(time.Hour)} // not the TUI's clock
	h := newHarness(t, "wait.yaml", enginetest.New(), func(c *Config) { c.Options.Clock = demo })
	h.settle()
	_ = h.m.act("waiting", nil)
	start := demo.Now()
	h.m.applyEvents([]taggedEvent{
		{run: h.m.run, ev: engine.Event{Type: engine.EvStepEnter, Step: "wait-up", Time: start}},
		{run: h.m.run, ev: engine.Event{Type: engine.EvCommand, Step: "wait-up", Host: "local", Command: "systemctl is-active demo", Time: start}},
	})
	_ = demo.Sleep(context.Background(), 30*time.Second) // one poll interval, in demo time
	h.send(tickMsg{run: h.m.run})
	h.mustSee("elapsed 30s", "30s left")
	h.m.cancel()
	h.m.state = stateAsking
}

// TestTimedWaitSaysUntilWhen: "wait until 00:00 the next day" has no polls;
// the output header says until when, and the walk goes on at midnight.
func TestTimedWaitSaysUntilWhen(t *testing.T) {
	h := newHarness(t, "wait-midnight.yaml", enginetest.New(), func(c *Config) { c.Options.Clock = &testClock{now: fixedNow} })
	h.settle()
	h.wantPrompt(engine.PromptRun, "midnight")
	_ = h.m.act("waiting", nil) // the test plays the act's events
	h.m.applyEvents([]taggedEvent{
		{run: h.m.run, ev: engine.Event{Type: engine.EvStepEnter, Step: "midnight", Time: fixedNow}},
		{run: h.m.run, ev: engine.Event{Type: engine.EvWaitUntil, Step: "midnight", Text: "2026-11-29T00:00:00Z", Time: fixedNow}},
	})
	h.send(tickMsg{run: h.m.run, t: fixedNow.Add(time.Second)})
	h.mustSee("waiting until 2026-11-29 00:00:00 UTC")
	h.m.cancel()
}
