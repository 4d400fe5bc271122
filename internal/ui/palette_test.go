package ui

import (
	"reflect"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/keymap"
	"github.com/runbook-dev/runbook/internal/ui/palette"
)

func shownKeys(h *harness) []string {
	var ks []string
	for _, it := range h.m.x.pal.Shown() {
		ks = append(ks, it.Key)
	}
	return ks
}

// TestPaletteOffersThisScreensActions: : lists what the current screen
// offers (from the keymap), filters fuzzily as you type, and runs the pick
// exactly as its key would.
func TestPaletteOffersThisScreensActions(t *testing.T) {
	h := backup(t)
	h.press(":")
	h.mustSee("Command palette", "run / proceed", "edit command")
	keys := strings.Join(shownKeys(h), " ")
	for _, want := range []string{"enter", "e", "b", "N", "g", "v", "?", "q"} {
		if !strings.Contains(" "+keys+" ", " "+want+" ") {
			t.Errorf("palette at a probe lacks %q: %s", want, keys)
		}
	}
	for _, bad := range []string{"o", "r", "d", "y", ":"} { // not offered before the probe ran
		if strings.Contains(" "+keys+" ", " "+bad+" ") {
			t.Errorf("palette at a probe offers %q: %s", bad, keys)
		}
	}
	h.typeText("edt")
	if got := shownKeys(h); len(got) == 0 || got[0] != "e" {
		t.Fatalf("'edt' ranks %v first, want e (edit)", got)
	}
	h.press("enter")
	h.mustSee("Edit the command (recorded as edited)")
	h.press("esc")

	// After the probe: override is offered; the palette opens empty.
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "check-space")
	h.press(":")
	if h.m.x.pal.Term() != "" {
		t.Errorf("the palette opened with %q", h.m.x.pal.Term())
	}
	h.typeText("overr")
	h.press("enter")
	h.mustSee("Override: go to which step instead?")
	h.press("esc")
	h.wantPrompt(engine.PromptDecided, "check-space")
}

// An ask step: each answer is an action, with where it leads.

func TestPaletteListsEachAnswer(t *testing.T) {
	h := backup(t, enginetest.Rule{Match: `^df -hl '?/srv/BigData/LocalBackup'?$`, Stdout: dfHalf})
	h.press("enter", "enter")
	h.wantPrompt(engine.PromptAsk, "ask-more")
	h.press(":")
	h.mustSee("answer yes → escalate", "answer no → resolved")
	h.typeText("answer no")
	h.press("enter")
	h.mustSee("Outcome: RESOLVED")
	h.press(":")
	h.mustSee("Command palette", "look back")
	h.press("esc")
	h.mustSee("Outcome: RESOLVED")
}

// Every binding's key name turns into the key press it names, so the
// palette runs what the key runs.
func TestPaletteKeyPressMatchesItsBinding(t *testing.T) {
	km := keymap.DefaultKeyMap()
	for _, group := range km.FullHelp() {
		for _, b := range group {
			for _, k := range b.Keys() {
				if k == " " {
					continue // space: "pgdown" is its first name
				}
				if !key.Matches(keyPress(k), b) {
					t.Errorf("keyPress(%q) = %q does not match its binding %q", k, keyPress(k).String(), b.Help().Key)
				}
			}
		}
	}
}

// TestHelpIsTheKeymap: the help screen is generated from the one keymap:
// every binding of KeyMap is in FullHelp, and every FullHelp entry is on
// the help screen.
func TestHelpIsTheKeymap(t *testing.T) {
	km := keymap.DefaultKeyMap()
	inHelp := map[string]bool{}
	for _, g := range km.FullHelp() {
		for _, b := range g {
			inHelp[b.Help().Key+"\x00"+b.Help().Desc] = true
		}
	}
	v := reflect.ValueOf(km)
	for i := range v.NumField() {
		b := v.Field(i).Interface().(key.Binding)
		if !inHelp[b.Help().Key+"\x00"+b.Help().Desc] {
			t.Errorf("KeyMap.%s (%s) is not in FullHelp, so not on the help screen", v.Type().Field(i).Name, b.Help().Key)
		}
	}
	h := backup(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 80})
	h.press("?")
	for _, g := range km.FullHelp() {
		for _, b := range g {
			h.mustSee(b.Help().Desc)
		}
	}
	h.mustSee("▶ current", "✓ passed", "✗ failed", "● answered", "○ visited")
}

// TestArrowsAndVimKeys: every list and pane moves with both.
func TestArrowsAndVimKeys(t *testing.T) {
	var out strings.Builder
	for i := range 300 {
		out.WriteString("row " + string(rune('a'+i%26)) + "\n")
	}
	h := backup(t, enginetest.Rule{Match: `^df`, Stdout: out.String()})
	h.press("enter")
	// output pane: k/j as up/down, G as end
	h.press("home", "j")
	a := h.screen()
	h.press("k", "down")
	if h.screen() != a {
		t.Error("j and down differ in the output pane")
	}
	h.press("G")
	if !h.m.out.Following() {
		t.Error("G did not go to the end")
	}
	// help and tree: ↑/↓ and k/j
	h.send(tea.WindowSizeMsg{Width: 80, Height: 14})
	h.press("?", "j")
	y := h.m.pager.YOffset()
	if y == 0 {
		t.Error("j does not scroll the help")
	}
	h.press("k", "down")
	if h.m.pager.YOffset() != y {
		t.Error("down and j scroll the help differently")
	}
	h.press("esc")
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	// pickers: ↑/↓ and k/j
	h.press("o")
	c := h.m.picker.Cursor()
	h.press("j")
	if h.m.picker.Cursor() == c {
		t.Error("j does not move the picker")
	}
	h.press("k", "down")
	if h.m.picker.Cursor() == c {
		t.Error("down does not move the picker")
	}
	h.press("esc")
	// look-back: ←/→ and h/l
	h = backup(t, enginetest.Rule{Match: `^df`, Stdout: dfHalf})
	h.press("enter", "enter")
	h.press("v", "1")
	n := h.m.look.N
	h.press("h")
	if h.m.look.N != n-1 {
		t.Errorf("h: visit %d, want %d", h.m.look.N, n-1)
	}
	h.press("right")
	if h.m.look.N != n {
		t.Errorf("right: visit %d, want %d", h.m.look.N, n)
	}
	h.press("esc")
	// palette: ↑/↓ and ctrl+n/ctrl+p (letters filter)
	h.press(":")
	first := h.m.x.pal.Shown()[0]
	h.send(tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl})
	if it, _ := h.m.x.pal.Selected(); it == first {
		t.Error("ctrl+n does not move the palette")
	}
	h.press("up")
	if it, _ := h.m.x.pal.Selected(); it != first {
		t.Error("up does not move the palette")
	}
	h.press("esc")
}

// TestSearchRemembersTheLastTerm: / offers the previous term again on a
// later step, whose output does not keep the highlight.
func TestSearchRemembersTheLastTerm(t *testing.T) {
	h := backup(t)
	h.press("enter", "/")
	h.typeText("sdb1")
	h.press("enter")
	h.mustSee("/sdb1 1/1")
	h.press("enter") // the decision: the fix step, a new step
	h.mustNotSee("/sdb1")
	h.press("/")
	h.mustSee("> sdb1")
	h.press("esc")
}

func TestFuzzyScore(t *testing.T) {
	for _, c := range []struct {
		term, s string
		ok      bool
	}{{"ovr", "override decision", true}, {"", "x", true}, {"zz", "override", false}, {"LB", "look back", true}, {"bl", "look back", false}} {
		if _, ok := palette.Score(c.term, c.s); ok != c.ok {
			t.Errorf("Score(%q, %q) = %v", c.term, c.s, ok)
		}
	}
	a, _ := palette.Score("ov", "override")
	b, _ := palette.Score("ov", "go visit")
	if a <= b {
		t.Errorf("a prefix run scores %d, scattered %d", a, b)
	}
}
