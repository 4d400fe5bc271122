package ui

import (
	"sort"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

func fleet(t *testing.T) *harness {
	t.Helper()
	fake := enginetest.New(
		enginetest.Rule{Match: `^drbdadm status$`, Stdout: "resource=r0 role=Secondary\n"},
		enginetest.Rule{Match: `^drbdadm invalidate r0 && rm -rf -- /srv/old$`},
		enginetest.Rule{Match: `^drbdadm disk-options --c-max-rate=100M r0$`},
	)
	h := newHarness(t, "fleet-fix.yaml", fake, withTargets("nodes", "n1", "n2", "n3"))
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 160, Height: 60})
	h.press("enter")                             // run detect
	h.wantPrompt(engine.PromptDecided, "detect") // step mode
	h.press("enter")                             // follow it
	h.wantPrompt(engine.PromptConfirm, "discard")
	return h
}

func (h *harness) ranOn(script string) []string {
	var hosts []string
	for _, c := range h.fake.Calls() {
		if c.Script == script {
			hosts = append(hosts, c.Host)
		}
	}
	sort.Strings(hosts)
	return hosts
}

// The confirmation shows the fully rendered command per host once the inputs
// are in (not {{ input.dir }}, not {{ steps[...].resource }}); a destructive
// fix on a group is confirmed by typing the number of hosts, never the role.
func TestDestructiveGroupFixConfirmsRenderedCommandAndHostCount(t *testing.T) {
	h := fleet(t)
	h.mustSee(`drbdadm invalidate r0 && rm -rf -- {{ input.dir }}`) // known values rendered already
	h.mustNotSee(`steps["detect"]`)
	h.press("y")
	h.mustSee("Backup directory to delete") // the input's prompt: text
	h.typeText("/srv/old")
	h.press("enter")
	if h.m.purpose != forDestructive {
		t.Fatalf("purpose %d: want the destructive confirmation", h.m.purpose)
	}
	want := "drbdadm invalidate r0 && rm -rf -- /srv/old"
	h.mustSee("It sends exactly:", "n1 $ "+want, "n2 $ "+want, "n3 $ "+want,
		"it runs on 3 hosts: type 3 (the number of hosts) to confirm")
	h.typeText("nodes") // the role name is not a confirmation
	h.press("enter")
	if h.fake.Ran(`^drbdadm invalidate`) {
		t.Fatal("the role name confirmed a destructive fix")
	}
	for range 5 {
		h.send(keyMsg("backspace"))
	}
	h.typeText("3")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "discard")
	if got := h.ranOn(want); strings.Join(got, ",") != "n1,n2,n3" {
		t.Fatalf("ran %q on %v, want on n1,n2,n3 (calls %v)", want, got, h.fake.Calls())
	}
	// What was shown is what ran: the confirm event carries the same text.
	if !h.hasEvent(engine.EvConfirm, func(e engine.Event) bool { return e.Step == "discard" && e.Command == want }) {
		t.Error("the confirm event does not carry the command that ran")
	}
}

// A non-destructive fix with inputs gets a last look at the rendered
// command before it runs; "no" runs nothing.
func TestFixWithInputsShowsCommandBeforeRunning(t *testing.T) {
	h := fleet(t)
	h.press("o", "1") // override past the destructive fix, to tune
	h.typeText("the data is fine; only tuning")
	h.press("enter")
	h.wantPrompt(engine.PromptConfirm, "tune")
	h.press("y")
	h.mustSee("Sync rate (e.g. 100M)")
	h.typeText("100M")
	h.press("enter")
	want := "drbdadm disk-options --c-max-rate=100M r0"
	h.mustSee("Run exactly this?", "n1 $ "+want, "n3 $ "+want)
	h.press("n")
	if h.fake.Ran(`^drbdadm disk-options`) {
		t.Fatal("no ran the fix")
	}
	h.wantPrompt(engine.PromptConfirm, "tune")
	h.press("y")
	h.typeText("100M")
	h.press("enter")
	h.press("y")
	h.wantPrompt(engine.PromptDecided, "tune")
	if got := h.ranOn(want); len(got) != 3 {
		t.Fatalf("ran on %v, want 3 hosts", got)
	}
}
