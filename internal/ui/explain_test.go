package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

func explainHarness(t *testing.T, stdout string) *harness {
	t.Helper()
	h := newHarness(t, "explain.yaml", enginetest.New(enginetest.Rule{Match: `^psql `, Stdout: stdout}))
	h.settle()
	h.wantPrompt(engine.PromptRun, "repl")
	h.press("enter")
	return h
}

// TestExplainShowsEveryTestAndValue: x at a decision shows each branch
// tested in order, every value it read, which held and the route; y copies
// exactly that as plain text; esc goes back to the decision untouched.
func TestExplainShowsEveryTestAndValue(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		h := explainHarness(t, "state=streaming lag=45\n")
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		h.wantPrompt(engine.PromptDecided, "repl")
		h.mustSee("x why")
		h.press("x")
		first := "✗ false  state == 'streaming' && int(lag) <= params.lag_limit"
		if sz[0] < 100 {
			first = "✗ false  state == 'streaming' && int(lag) <=" // wrapped, never cut
		}
		h.mustSee("Why visit 1 (4.2 Is replication streaming?)", "route:   → 4.4 Lagging behind",
			"by:      the runbook (automatic decision)", first,
			`state = "streaming"  (capture)`, `lag = "45"  (capture)`, "params.lag_limit = 30",
			"✓ true   state == 'streaming'", "y copies (plain text)")
		_, cmd := h.m.Update(keyMsg("y"))
		if cmd == nil {
			t.Fatal("y copies nothing")
		}
		copied := fmt.Sprintf("%s", cmd())
		for _, want := range []string{"Why visit 1 (4.2 Is replication streaming?) went where it went\n", "  ✗ false  state == 'streaming' && int(lag) <= params.lag_limit\n",
			"             params.lag_limit = 30\n", "  ✓ true   state == 'streaming'\n"} {
			if !strings.Contains(copied, want) {
				t.Errorf("copied text lacks %q:\n%s", want, copied)
			}
		}
		if strings.ContainsRune(copied, 0x1b) {
			t.Errorf("copied text is styled: %q", copied)
		}
		if !strings.Contains(h.m.status.Message(), "copied") {
			t.Errorf("status %q", h.m.status.Message())
		}
		h.press("esc")
		h.wantPrompt(engine.PromptDecided, "repl")
		h.press("enter")
		h.mustSee("Outcome: ESCALATED")
		if strings.Contains(h.m.status.Message(), "copied") {
			t.Errorf("the copy message followed the walk to the next step: %q", h.m.status.Message())
		}
		// After the end, x explains the last decision.
		h.press("x")
		h.mustSee("Why visit 1", "✓ true   state == 'streaming'")
		h.press("x")
		h.mustSee("Outcome: ESCALATED")
	}
}

// TestExplainElseAndMissingCapture: when no branch held the view says so,
// and a capture that did not match is shown as such.
func TestExplainElseAndMissingCapture(t *testing.T) {
	h := explainHarness(t, "psql: error: connection refused\nstate=\n")
	h.wantPrompt(engine.PromptDecided, "repl")
	h.press("x")
	h.mustSee("route:   → 4.5 Not streaming", "no branch held: else", `state = ""`)
	h.press("esc")
	h.press("v", "1", "x") // the same from look-back
	h.mustSee("Why visit 1", "no branch held: else")
	h.press("esc")
	if h.m.overlay != overlayLook {
		t.Fatalf("esc from explain did not return to look-back (overlay %d)", h.m.overlay)
	}
}

// TestExplainValuesAreSanitised: a capture holding hostile host output is
// shown and copied as inert text.
func TestExplainValuesAreSanitised(t *testing.T) {
	h := explainHarness(t, "state=down lag=1 note="+hostile.OneLine()+"\n")
	h.press("x")
	raw := h.m.render() // plain styles: any escape came from the host
	hostile.Check(t, "explain view", raw)
	_, cmd := h.m.Update(keyMsg("y"))
	hostile.Check(t, "copied explanation", fmt.Sprintf("%s", cmd()))
	// the values are there, made visible
	if !strings.Contains(raw, `state = "down"`) || !strings.Contains(raw, `note = "x\x1b]52;c;`) {
		t.Errorf("screen:\n%s", plainScreen(raw))
	}
}

// TestExplainAnExpressionThatFailed: at a step whose branch could not be
// evaluated, x shows the expression, why, and the values it read.
func TestExplainAnExpressionThatFailed(t *testing.T) {
	h := explainHarness(t, "state=streaming lag=\n")
	h.wantPrompt(engine.PromptError, "repl")
	h.send(tea.WindowSizeMsg{Width: 200, Height: 50})
	h.press("x")
	h.mustSee("could not evaluate", "✗ error  state == 'streaming' && int(lag) <= params.lag_limit",
		"reason:  capture lag did not match the probe's output", "lag = <no match>  (capture)", "params.lag_limit = 30")
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	checkBlock(t, "explain", h.m.render(), 80)
	for _, l := range strings.Split(h.screen(), "\n") {
		if _, main, ok := strings.Cut(l, "│ "); ok && strings.Contains(main, "…") {
			t.Errorf("the explain view cuts a line: %q", main) // wrapped, never cut
		}
	}
}

// TestHelpStaysOverTheEndWhenTheBundleIsWritten: the bundle export
// finishing while help (or the tree) is open does not replace it with the
// end screen (seen in tmux at 80x24).
func TestHelpStaysOverTheEndWhenTheBundleIsWritten(t *testing.T) {
	h := explainHarness(t, "state=streaming lag=1\n")
	h.press("enter")
	h.mustSee("Outcome: RESOLVED")
	for _, k := range []string{"?", "g"} {
		h.press(k)
		h.send(bundleMsg{path: "/tmp/b.tar.gz"})
		h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
		h.mustNotSee("Outcome: RESOLVED")
		h.press("esc")
		h.mustSee("Outcome: RESOLVED", "/tmp/b.tar.gz")
	}
}
