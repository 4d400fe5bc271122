package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// TestLookBackLongCaptureKeepsTheDecision: a table capture (the ECSS
// nodes-info rows, 1 KB of JSON) is shortened in the look-back facts, so the
// decision and who made it still show at 80x24.
func TestLookBackLongCaptureKeepsTheDecision(t *testing.T) {
	var b strings.Builder
	b.WriteString(":node/nodes-info\n┌───────────────┬───────────────────────────────┬─────────────────────┐\n")
	b.WriteString("│      Node     │             Erlang            │        Mnesia       │\n├───────────────┼───────────────────────────────┼─────────────────────┤\n")
	for _, sub := range []string{"core1", "ds1", "md1", "mycelium1", "sip1"} {
		for _, h := range []string{"ecss1", "ecss2"} {
			b.WriteString("│" + pad(sub+"@"+h, 15) + "│" + pad(sub+"@ecss1,"+sub+"@ecss2", 31) + "│" + pad(sub+"@"+h, 21) + "│\n")
		}
	}
	b.WriteString("└───────────────┴───────────────────────────────┴─────────────────────┘\n")
	h := newHarness(t, shipped+"ecss10-cluster-split.yaml", enginetest.New(enginetest.Rule{Match: `/node/nodes-info nodes`, Stdout: b.String()},
		enginetest.Rule{Match: `^systemctl list-units 'ecss\*'`, Stdout: "ecss-ds.service   loaded active running daemon ecss-ds-17.0 of ecss-10 system\n"}))
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.settle()
	h.wantPrompt(engine.PromptAsk, "alarms")
	h.press("y")
	h.wantPrompt(engine.PromptRun, "nodes-info")
	h.press("enter")
	h.press("enter")
	h.wantPrompt(engine.PromptRun, "units") // the per-host section starts: each server's ecss units
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "units")
	h.press("enter")
	h.wantPrompt(engine.PromptAsk, "choose-restart")
	h.press("v")
	h.mustSee("Look back at which visit? (read-only)")
	h.press("2") // newest first: units, nodes-info
	h.mustSee("Visit 2 of 3", "captures", "rows=", "decision", "by auto: →")
}

func pad(s string, n int) string { return s + strings.Repeat(" ", n-len([]rune(s))) }

// At 80x24 a visit with a long command and many captures still leaves
// its output in view: the facts are shortened, with a note of how many
// lines were left out, and the decision stays.
func TestLookBackKeepsOutputInViewAt80x24(t *testing.T) {
	var caps, cmd strings.Builder
	var out strings.Builder
	for i := range 8 {
		fmt.Fprintf(&caps, "      c%d: 'c%d=(\\S+)'\n", i, i)
		fmt.Fprintf(&out, "c%d=%s\n", i, strings.Repeat(string(rune('a'+i)), 50))
		fmt.Fprintf(&cmd, "echo step-%d-%s; ", i, strings.Repeat("x", 30))
	}
	out.WriteString("LAST OUTPUT LINE\n")
	rb := filepath.Join(t.TempDir(), "long.yaml")
	os.WriteFile(rb, []byte(fmt.Sprintf(`runbook: 1
id: long
title: Long facts
targets: {host: {description: the host}}
steps:
  - id: probe
    title: A probe with many captures
    run: {on: host, cmd: %q}
    capture:
%s    next: done
  - id: done
    end: resolved
`, cmd.String(), caps.String())), 0o600)
	abs, _ := filepath.Abs("testdata")
	rel, err := filepath.Rel(abs, rb) // the harness loads from testdata/
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rel, enginetest.New(enginetest.Rule{Match: `step-0`, Stdout: out.String()}))
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.settle()
	h.wantPrompt(engine.PromptRun, "probe")
	h.press("enter")
	h.press("enter")
	h.press("v")
	h.mustSee("Look back at which visit? (read-only)")
	h.press("2")
	h.mustSee("Visit 1 of 2", "more lines", "decision", "── output", "c0=aaaa")
}
