package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// TestCollectCommandTimeoutIsShownAsTimeout: a collect command cut off by
// its timeout reads "timed out after 30s" in the result table and the
// decision, never "collected" or a context error.
func TestCollectCommandTimeoutIsShownAsTimeout(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^journalctl -u app --no-pager$`, Stdout: "-- Logs begin at Tue 2026-12-01 08:00:01 UTC. --\n", TimedOut: true})
	h := newHarness(t, "collect-timeout.yaml", fake)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 35})
	h.settle()
	h.wantPrompt(engine.PromptRun, "gather")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "gather")
	var words []string
	for _, l := range h.m.out.Lines() {
		words = append(words, strings.Fields(l.Text)...)
	}
	pane := strings.Join(words, " ")
	for _, want := range []string{"local timeout $ journalctl -u app --no-pager — timed out after 30s", "── 1 timeout"} {
		if !strings.Contains(pane, want) {
			t.Errorf("output pane lacks %q:\n%s", want, pane)
		}
	}
	if strings.Contains(pane, "deadline exceeded") || strings.Contains(pane, "local collected") {
		t.Errorf("output pane:\n%s", pane)
	}
	if p := h.m.prompt; p.Decision.Explain != "collected 0 files (0 B), 1 not collected (1 command timed out after 30s) → escalate" {
		t.Errorf("decision %q", p.Decision.Explain)
	}
}
