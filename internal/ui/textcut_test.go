package ui

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const shipped = "../../../runbooks/" // from testdata/

// TestAskQuestionWrapsAndChoicesSayWhereTheyLead: the split-brain question
// is whole at 80 and 120 columns (no "…"), and each answer names its step.
func TestAskQuestionWrapsAndChoicesSayWhereTheyLead(t *testing.T) {
	h := newHarness(t, shipped+"fsr-split-brain.yaml", enginetest.New(), func(c *Config) { c.Options.StartAt = "choose-victim" })
	h.settle()
	h.wantPrompt(engine.PromptAsk, "choose-victim")
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 50}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		sc := h.screen()
		// The question, re-joined across its wrapped lines.
		var joined []string
		for _, l := range strings.Split(sc, "\n") {
			if i := strings.Index(l, "│ "); i >= 0 {
				joined = append(joined, strings.TrimSpace(l[i+len("│ "):]))
			}
		}
		all := strings.Join(joined, " ")
		if !strings.Contains(all, "Split-brain on the resource shown above. Have you chosen the victim node (discard its data), or escalate?") {
			t.Errorf("%dx%d: the question is not whole:\n%s", sz[0], sz[1], sc)
		}
		h.mustSee("1 discard  → Connect the victim with --discard-my-data", "2 escalate  → ")
		checkBlock(t, "ask screen", h.m.render(), sz[0])
	}
}

// TestOutlineFollowsTheTerminalAndKeepsRefsWhole: wide terminals give the
// outline room; refs are never cut ("Resol…").
func TestOutlineFollowsTheTerminalAndKeepsRefsWhole(t *testing.T) {
	h := newHarness(t, shipped+"ecss10-cluster-split.yaml", enginetest.New())
	h.settle()
	widths := map[int]int{}
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 50}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		widths[sz[0]] = h.m.computeLayout().outlineW
		var outline []string
		for _, l := range strings.Split(h.screen(), "\n") {
			if i := strings.Index(l, "│"); i >= 0 {
				outline = append(outline, l[:i])
			}
		}
		ol := strings.Join(outline, "\n")
		for _, ref := range []string{"Диагностика ", "Решение "} {
			if !strings.Contains(ol, ref) {
				t.Errorf("%dx%d: the outline cuts the ref %q:\n%s", sz[0], sz[1], ref, ol)
			}
		}
	}
	if !(widths[80] < widths[120] && widths[120] < widths[200]) {
		t.Errorf("outline widths %v do not follow the terminal", widths)
	}
	h.send(tea.WindowSizeMsg{Width: 200, Height: 50})
	// At 200 columns, titles of the outline fit without "…".
	refW := 0
	for _, st := range h.m.rb.Steps {
		refW = max(refW, displayWidth(st.Ref))
	}
	for _, st := range h.m.rb.Steps {
		if 2+refW+1+displayWidth(st.Name()) <= widths[200] {
			h.mustSee(st.Name())
		}
	}
}

// TestSearchStaysWithItsStep: a search's highlight and its message do not
// follow the walk to the next step.
func TestSearchStaysWithItsStep(t *testing.T) {
	h := backup(t)
	h.press("enter")
	h.press("/")
	h.typeText("93%")
	h.press("enter")
	h.mustSee("match 1 of 1", "/93% 1/1")
	h.press("enter")
	h.wantPrompt(engine.PromptConfirm, "clear")
	h.mustNotSee("match 1 of", "/93%")
	if h.m.out.SearchTerm() != "" {
		t.Errorf("search term %q kept on the next step", h.m.out.SearchTerm())
	}
}

// TestTransportErrorNamesTheHostOnce: "local: transport failed: connect…",
// never "local: local: connect…".
func TestTransportErrorNamesTheHostOnce(t *testing.T) {
	h := backup(t, enginetest.Rule{Match: `^df`, Err: &engine.TransportError{Host: engine.Host{Name: "local"}, Err: errors.New("connect: connection refused")}})
	h.press("enter")
	h.mustSee("local: transport failed: connect: connection refused")
	h.mustNotSee("local: local:")
}

// TestBackMenuKeepsNumbersApart: the picker's number and the step's ref
// never read as one number ("1 6 Is…").
func TestBackMenuKeepsNumbersApart(t *testing.T) {
	h := backup(t)
	h.press("enter", "b")
	h.mustSee("Go back to which step?", "1 ✓ 6 Is the backup directory full?")
}
