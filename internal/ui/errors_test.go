package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

const dfMatch = `^df -hl '?/srv/BigData/LocalBackup'?`

// The transport's typed errors reach the TUI through the engine (errors.As
// across the boundary), and the TUI offers only what makes sense for each.

func TestChangedHostKeyOffersNoRetry(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: dfMatch, Err: &rbssh.DialError{Host: "root@flink-a:22",
		Err: &rbssh.HostKeyChangedError{Host: "flink-a", Got: "SHA256:new", Want: []string{"SHA256:old (known_hosts:3)"}}}})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"))
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 160, Height: 60})
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.mustSee("REMOTE HOST IDENTIFICATION HAS CHANGED", "retrying cannot help", "o picks another route")
	h.mustNotSee("r retries", "r retry")
	h.press("r")
	h.wantPrompt(engine.PromptError, "check-space")
	if n := len(fake.Calls()); n != 1 {
		t.Fatalf("r at a changed host key ran the probe again (%d calls)", n)
	}
	if !strings.Contains(h.m.status.Message(), "retrying cannot help") {
		t.Errorf("status %q: want why r does nothing", h.m.status.Message())
	}
}

func TestTimeoutOffersRetryAndSkip(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: dfMatch, Err: fmt.Errorf("connect to flink-a: %w: no SSH handshake within 10s", rbssh.ErrHandshakeTimeout)})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"))
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 160, Height: 60})
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.mustSee("r retries", "s skips it", "did not answer in time")
	h.press("r")
	h.wantPrompt(engine.PromptError, "check-space")
	if n := len(fake.Calls()); n != 2 {
		t.Fatalf("r at a timeout: %d calls, want 2", n)
	}
	h.press("s")
	h.mustSee("Why skip it?")
	h.press("enter") // a skip needs a reason
	h.mustSee("a skip needs a reason")
	h.typeText("host is down for maintenance")
	h.press("enter")
	h.wantPrompt(engine.PromptAsk, "ask-more")
	if !h.hasEvent(engine.EvOverride, func(e engine.Event) bool {
		return e.Step == "check-space" && e.Next == "ask-more" && e.Reason == "host is down for maintenance"
	}) {
		t.Error("the skip is not recorded as an override with its reason")
	}
}

func TestAuthFailureOffersReauth(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: dfMatch, Err: &rbssh.DialError{Host: "root@flink-a:22", Err: &rbssh.AuthError{User: "root", Host: "flink-a:22"}}, Times: 1},
		enginetest.Rule{Match: dfMatch, Stdout: dfFull},
	)
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"))
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 160, Height: 60})
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.mustSee("a re-authenticates", "refused the credentials")
	h.mustNotSee("r retries", "s skips")
	h.press("s")
	h.wantPrompt(engine.PromptError, "check-space")
	h.press("a")
	h.wantPrompt(engine.PromptDecided, "check-space")
}

// A probe that did not run (exit 127) is retried, or edited and run.
func TestBrokenProbeOffersEditAndRetry(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: dfMatch + `$`, Exit: 127, Stderr: "sh: df: not found\n"},
		enginetest.Rule{Match: `^/bin/busybox df -hl`, Stdout: dfFull},
	)
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"))
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 160, Height: 60})
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.mustSee("did not run properly", "r retries", "e edits the command", "o picks another route")
	h.press("e")
	h.press("home")
	h.typeText("/bin/busybox ")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "check-space")
	calls := fake.Calls()
	if len(calls) != 2 || !strings.HasPrefix(calls[1].Script, "/bin/busybox df -hl") {
		t.Fatalf("calls %v: want the edited command run after the error", calls)
	}
}

// An expression that cannot be evaluated is shown with the values it saw.
func TestExpressionErrorShowsValues(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: dfMatch, Stdout: "df: unrecognized output\n"})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"))
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 200, Height: 60})
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.mustSee("cannot evaluate", "used=<no match>", "not an answer", "r retries", "e edits")
}
