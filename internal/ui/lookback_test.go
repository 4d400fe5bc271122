package ui

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const dfHalf = "Filesystem      Size  Used Avail Use% Mounted on\n/dev/sdb1       100G   45G   55G  45% /srv/BigData/LocalBackup\n"

// TestLookBackIsReadOnly: any visited step opens with its command, full
// output (searchable), captures, and the decision with who made it; looking
// changes nothing in the session, and the walk goes on where it was.
func TestLookBackIsReadOnly(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 50}} {
		h := backup(t, enginetest.Rule{Match: `^df -hl '?/srv/BigData/LocalBackup'?$`, Stdout: dfHalf})
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		h.press("enter", "enter")
		h.wantPrompt(engine.PromptAsk, "ask-more")
		events, calls := len(h.evs), len(h.fake.Calls())

		h.press("v")
		h.mustSee("Look back at which visit? (read-only)", "○ 9 Anything else?  visit 2", "✓ 6 Is the backup directory full?  visit 1 → ask-more")
		h.press("2") // the second item: visit 1, check-space
		h.mustSee("Visit 1 of 2", "6 Is the backup directory full?", "read-only",
			"command", "df -hl /srv/BigData/LocalBackup", "result", "local: exit 0", "captures", "used=45",
			"decision  by auto: → exit 0, used=45", "45% /srv/BigData/Local")
		h.mustNotSee("Anything else wrong?") // the live prompt is not drawn over
		// Search inside the looked-at output.
		h.press("/")
		h.typeText("sdb1")
		h.press("enter")
		if h.m.overlay != overlayLook {
			t.Fatalf("search left look-back (overlay %d)", h.m.overlay)
		}
		h.mustSee("/sdb1 1/1")
		if h.m.out.SearchTerm() != "" {
			t.Error("searching a looked-at visit searched the live pane")
		}
		// The next visit: the ask step, still waiting.
		h.press("l")
		h.mustSee("Visit 2 of 2", "9 Anything else?")
		h.press("esc")
		h.wantPrompt(engine.PromptAsk, "ask-more")
		h.mustSee("Anything else wrong?")
		if len(h.evs) != events || len(h.fake.Calls()) != calls {
			t.Fatalf("looking back changed the session: %d→%d events, %d→%d calls", events, len(h.evs), calls, len(h.fake.Calls()))
		}

		h.press("y")
		h.mustSee("Outcome: ESCALATED")
		// From the tree too, and after the end; the answer and who gave it.
		h.press("g", "v")
		h.mustSee("Look back at which visit?")
		h.press("2") // visit 2: the answer
		h.mustSee("Visit 2 of 3", "answer", "yes (by operator)", `by operator: → answered "yes" →`)
		h.press("h")
		h.mustSee("Visit 1 of 3")
		h.press("esc")
		h.mustSee("The whole procedure")
		h.press("esc")
		h.mustSee("Outcome: ESCALATED")
		checkBlock(t, "end", h.m.render(), sz[0])
	}
}
