package ui

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

// refusing is a transport that fails the test if anything reaches it.
type refusing struct{ t *testing.T }

func (r refusing) Run(_ context.Context, h engine.Host, req engine.CommandRequest, _, _ io.Writer) (engine.CommandResult, error) {
	r.t.Errorf("replay ran %q on %s", req.Script, h.Name)
	return engine.CommandResult{}, context.Canceled
}

func (r refusing) Fetch(_ context.Context, h engine.Host, _ engine.FetchRequest, _ engine.Collector) error {
	r.t.Errorf("replay fetched from %s", h.Name)
	return context.Canceled
}

// journaled walks backup.yaml in the TUI to the end (or until stop says),
// and returns its events as the journal keeps them (through JSON).
func journaled(t *testing.T, keys ...string) (*engine.Runbook, []engine.Event) {
	t.Helper()
	h := backup(t, enginetest.Rule{Match: `^df -hl '?/srv/BigData/LocalBackup'?$`, Stdout: dfHalf})
	h.press(keys...)
	raw, err := json.Marshal(h.evs)
	if err != nil {
		t.Fatal(err)
	}
	var evs []engine.Event
	if err := json.Unmarshal(raw, &evs); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Time = fixedNow // the session ran on the real clock; screens must be stable
	}
	return h.m.rb, evs
}

func newReplayHarness(t *testing.T, rb *engine.Runbook, evs []engine.Event) *harness {
	t.Helper()
	role := rb.Targets[0].Name
	targets := map[string][]engine.Host{role: {{Role: role, Name: "local"}}}
	h := &harness{t: t, msgs: make(chan tea.Msg, 64)}
	s, err := engine.Restore(rb, engine.Options{Executor: refusing{t}, Targets: targets, Params: map[string]string{"ticket": "INC1"}, StepMode: true,
		OnEvent: func(e engine.Event) { h.evs = append(h.evs, e) }}, evs)
	if err != nil {
		t.Fatal(err)
	}
	h.evs = nil // what restoring itself records (a resume marker) is not the replay's doing
	plain := styles.Plain()
	h.m = NewReplay(context.Background(), Config{Runbook: rb, Options: engine.Options{Targets: targets}, Styles: &plain,
		Now: func() time.Time { return fixedNow }}, s, "20250301T030000Z-backup-full-3f2a")
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.exec(h.m.Init())
	t.Cleanup(func() { h.m.pump.close() })
	return h
}

// TestReplayIsReadOnly: a finished session opens on the same screens
// (path taken, outline, tree, look back with the journaled output,
// explain), every key that would act is inert, and nothing reaches the
// transport.
func TestReplayIsReadOnly(t *testing.T) {
	rb, evs := journaled(t, "enter", "enter", "y")
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		h := newReplayHarness(t, rb, evs)
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		h.mustSee("Replay of session 20250301T030000Z-backup-full-3f2a", "read-only: nothing runs",
			"Outcome: ESCALATED", "Path taken", "6 Is the backup directory full?", "replay · read-only")
		hist := len(h.m.session.History())
		// Every key an operator might press to act: none runs anything.
		h.press("enter", "r", "e", "o", "b", "d", "N", "s", "a", "1", "y", "n")
		if h.m.overlay != overlayNone {
			h.press("esc")
		}
		h.mustSee("Outcome: ESCALATED")
		// Look back at the probe: its command and the output from the journal.
		h.press("v")
		h.mustSee("Look back at which visit? (read-only)")
		h.press("3") // newest first: visit 1
		h.mustSee("Visit 1 of 3", "df -hl /srv/BigData/LocalBackup", "used=45", "replayed from the journal", "45% /srv/BigData/Local")
		// Explain its decision from there.
		h.press("x")
		h.mustSee("Why visit 1", "✗ false  exit == 0 && int(used) >= 90", `used = "45"`, "no branch held: else")
		h.press("esc", "l")
		h.mustSee("Visit 2 of 3", "answer", "yes (by operator)")
		h.press("x")
		h.mustSee("answer:   \"yes\"", "by:       the operator", "route:    → escalate")
		h.press("esc", "esc", "g")
		h.mustSee("The whole procedure")
		h.press("esc", ":")
		h.mustSee("Command palette")
		for _, it := range h.m.x.pal.Shown() {
			if strings.Contains(it.Desc, "note") || it.Key == "enter" || it.Key == "r" {
				t.Errorf("the replay's palette offers an action: %+v", it)
			}
		}
		h.press("esc")
		if n := len(h.m.session.History()); n != hist || len(h.evs) != 0 {
			t.Fatalf("the replay changed the session: %d→%d visits, events %+v", hist, n, h.evs)
		}
		h.mustNotSee("No bundle configured") // a replay writes none
		h.press("q")
		h.until("q to leave the replay", func() bool { return h.quit })
	}
}

// TestReplayOfAnInterruptedSession says where it stopped and how to go
// on, and still runs nothing.
func TestReplayOfAnInterruptedSession(t *testing.T) {
	rb, evs := journaled(t, "enter") // the probe ran; the decision waits for enter
	h := newReplayHarness(t, rb, evs)
	h.mustSee("Replay of session", "Not ended: it stopped at 6 Is the backup directory full?", "(runbook resume 20250301T030000Z-backup-full-3f2a")
	h.mustNotSee("Outcome:")
	h.press("enter", "r", "o", "x")
	h.mustSee("Why visit 1", `used = "45"`)
	h.press("esc", "N")
	h.typeText("a note")
	h.press("enter")
	if len(h.evs) != 0 || len(h.m.session.Notes()) != 0 {
		t.Fatalf("the replay changed the session: events %+v", h.evs)
	}

	// Stopped before its probe ran: enter would run it in a live session;
	// here it reaches nothing (refusing fails the test if it did).
	rb, evs = journaled(t)
	h = newReplayHarness(t, rb, evs)
	h.mustSee("Not ended: it stopped at 6 Is the backup directory full?")
	h.press("enter", "e", ":")
	h.typeText("run")
	h.press("enter", "enter", "q")
	h.until("q to leave the replay", func() bool { return h.quit })
	if len(h.evs) != 0 {
		t.Fatalf("events: %+v", h.evs)
	}
}

// TestGoldenReplay keeps the replay's screens at 80×24.
func TestGoldenReplay(t *testing.T) {
	rb, evs := journaled(t, "enter", "enter", "y")
	h := newReplayHarness(t, rb, evs)
	checkBlock(t, "replay", h.m.render(), 80)
	golden(t, "replay_end", h.screen())
	h.press("v", "3")
	golden(t, "replay_look", h.screen())
	h.press("x")
	golden(t, "replay_explain", h.screen())
}
