package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/outline"
)

// backup starts the backup runbook at its first PromptRun.
func backup(t *testing.T, rules ...enginetest.Rule) *harness {
	t.Helper()
	if len(rules) == 0 {
		rules = []enginetest.Rule{{Match: `^df -hl '?/srv/BigData/LocalBackup'?$`, Stdout: dfFull}}
	}
	h := newHarness(t, "backup.yaml", enginetest.New(rules...), withParams("ticket", "INC1"))
	h.settle()
	h.wantPrompt(engine.PromptRun, "check-space")
	return h
}

func TestMissingParamsAskedWithInlineValidation(t *testing.T) {
	h := newHarness(t, "backup.yaml", enginetest.New(enginetest.Rule{Match: `^df -hl`, Stdout: dfFull}))
	if h.m.state != stateLoading || h.m.purpose != forParam {
		t.Fatalf("state %s purpose %d, want the param prompt", h.m.state, h.m.purpose)
	}
	h.mustSee("Ticket number", "1 value(s) needed")
	h.typeText("abc")
	h.mustSee(`✗ ticket: "abc" does not match INC[0-9]+`)
	h.press("enter")
	if h.m.state != stateLoading {
		t.Fatal("an invalid param was accepted")
	}
	for range 3 {
		h.send(keyMsg("backspace"))
	}
	h.typeText("INC42")
	h.mustNotSee("does not match")
	h.press("enter")
	h.wantPrompt(engine.PromptRun, "check-space")
	if !h.hasEvent(engine.EvSessionStart, func(e engine.Event) bool { return e.Params["ticket"] == "INC42" }) {
		t.Error("session did not start with the typed param")
	}
}

func TestSecretParamIsMasked(t *testing.T) {
	h := newHarness(t, "backup.yaml", enginetest.New())
	h.m.missing[0].Secret = true // ticket, as if declared secret
	h.m.askParam()
	h.typeText("INC777")
	h.mustNotSee("INC777")
	h.mustSee("••••••")
}

func TestEnterRunsProbeAndShowsDecision(t *testing.T) {
	h := backup(t)
	h.mustSee("local $ df -hl /srv/BigData/LocalBackup", "Ready to run on local")
	if len(h.fake.Calls()) != 0 {
		t.Fatal("the probe ran before enter")
	}
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "check-space")
	h.mustSee("93% /srv/BigData/LocalB", "→ exit 0, used=93: exit == 0 && int(used) >= 90 → 7 Clear", "exit 0 in")
	if got := h.m.outline.Mark("check-space"); got != outline.Passed {
		t.Errorf("outline mark %d, want passed", got)
	}
	h.press("enter")
	h.wantPrompt(engine.PromptConfirm, "clear")
	h.mustSee("7 Clear unnecessary backups", "DESTRUCTIVE", "This fix changes local.")
}

func TestRerunRunsTheProbeAgain(t *testing.T) {
	h := backup(t)
	h.press("enter", "r")
	h.wantPrompt(engine.PromptDecided, "check-space")
	if n := len(h.fake.Calls()); n != 2 {
		t.Fatalf("probe ran %d times, want 2", n)
	}
}

func TestEditCommandBeforeItRuns(t *testing.T) {
	h := backup(t, enginetest.Rule{Match: `^df -h /srv$`, Stdout: dfFull})
	h.press("e")
	if h.m.purpose != forEdit || h.m.input.Value() != "df -hl /srv/BigData/LocalBackup" {
		t.Fatalf("edit input holds %q", h.m.input.Value())
	}
	for range len(h.m.input.Value()) {
		h.send(keyMsg("backspace"))
	}
	h.typeText("df -h /srv")
	h.press("enter")
	h.wantPrompt(engine.PromptRun, "check-space")
	h.mustSee("local $ df -h /srv", "edited by operator")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "check-space")
	if !h.fake.Ran(`^df -h /srv$`) {
		t.Fatal("the edited command did not run")
	}
	if !h.hasEvent(engine.EvCommand, func(e engine.Event) bool { return e.Edited }) {
		t.Error("the command event is not marked edited")
	}
}

func TestEscDiscardsAnEdit(t *testing.T) {
	h := backup(t)
	h.press("e")
	h.typeText(" && reboot")
	h.press("esc")
	if h.m.overlay != overlayNone {
		t.Fatal("esc did not close the edit")
	}
	h.press("enter")
	if h.fake.Ran("reboot") {
		t.Fatal("a discarded edit ran")
	}
}

func TestOverrideNeedsReasonAndIsRecorded(t *testing.T) {
	h := backup(t)
	h.press("enter", "o")
	if h.m.purpose != forOverridePick {
		t.Fatal("o did not open the route picker")
	}
	h.mustSee("Override: go to which step instead?", "7 Clear unnecessary backups  (the automatic decision)", "9 Anything else?")
	h.press("2")
	if h.m.purpose != forOverrideReason {
		t.Fatal("picking a route did not ask for a reason")
	}
	h.press("enter")
	h.mustSee("✗ an override needs a reason")
	h.typeText("usage is from a test file")
	h.press("enter")
	h.wantPrompt(engine.PromptAsk, "ask-more")
	if !h.hasEvent(engine.EvOverride, func(e engine.Event) bool {
		return e.Next == "ask-more" && e.Reason == "usage is from a test file" && e.Text == "clear"
	}) {
		t.Error("override event missing or wrong")
	}
}

// toAsk walks the backup runbook to its ask step through an override.
func toAsk(t *testing.T) *harness {
	h := backup(t)
	h.press("enter", "o", "2")
	h.typeText("test")
	h.press("enter")
	h.wantPrompt(engine.PromptAsk, "ask-more")
	return h
}

func TestAskAnswersByLetter(t *testing.T) {
	h := toAsk(t)
	h.mustSee("Anything else wrong?", "1 yes", "2 no")
	h.press("n")
	if h.m.state != stateDone || h.m.result.Outcome != engine.OutcomeResolved {
		t.Fatalf("state %s outcome %q", h.m.state, h.m.result.Outcome)
	}
	if !h.hasEvent(engine.EvAnswer, func(e engine.Event) bool { return e.Answer == "no" && e.By == "operator" }) {
		t.Error("answer not recorded")
	}
}

func TestAskAnswersByNumberAndCursor(t *testing.T) {
	h := toAsk(t)
	h.press("1")
	if h.m.result.Outcome != engine.OutcomeEscalated {
		t.Fatalf("1 gave %q, want escalated", h.m.result.Outcome)
	}
	h = toAsk(t)
	h.press("down", "enter")
	if h.m.result.Outcome != engine.OutcomeResolved {
		t.Fatalf("down+enter gave %q, want resolved (no)", h.m.result.Outcome)
	}
	h = toAsk(t)
	h.press("7") // no 7th choice: nothing happens
	h.wantPrompt(engine.PromptAsk, "ask-more")
}

func TestBackToAnEarlierStep(t *testing.T) {
	h := toAsk(t)
	h.press("b")
	if h.m.purpose != forBack {
		t.Fatal("b did not open the path picker")
	}
	h.mustSee("Go back to which step?", "9 Anything else?  (start this step again)", "6 Is the backup directory full?")
	h.press("2")
	h.wantPrompt(engine.PromptRun, "check-space")
	if !h.hasEvent(engine.EvBack, func(e engine.Event) bool { return e.Step == "check-space" && e.Text == "ask-more" }) {
		t.Error("back not recorded")
	}
	// b with esc changes nothing.
	h.press("b", "esc")
	h.wantPrompt(engine.PromptRun, "check-space")
}

func TestNoteIsRecordedAndShownAtTheEnd(t *testing.T) {
	h := toAsk(t)
	h.press("N")
	h.press("enter")
	h.mustSee("✗ empty note")
	h.typeText("called the storage team")
	h.press("enter")
	h.wantPrompt(engine.PromptAsk, "ask-more")
	if !h.hasEvent(engine.EvNote, func(e engine.Event) bool { return e.Text == "called the storage team" && e.Step == "ask-more" }) {
		t.Fatal("note not recorded")
	}
	h.press("n")
	h.mustSee("Notes", "ask-more: called the storage team")
}

func TestTreeViewMarksCurrentStep(t *testing.T) {
	h := backup(t)
	h.press("g")
	h.mustSee("The whole procedure", "▶ 6 check-space: Is the backup directory full? [run]")
	h.press("esc")
	h.mustNotSee("The whole procedure")
	h.wantPrompt(engine.PromptRun, "check-space")
}

func TestHelpListsEveryKey(t *testing.T) {
	h := backup(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 50})
	h.press("?")
	for _, k := range []string{"enter", "1-9", "r ", "e ", "o ", "b ", "N ", "g ", "v ", "←/h", "→/l", "/ ", "q ", "ctrl+c"} {
		h.mustSee("  " + k)
	}
	h.press("?")
	h.mustNotSee("Help  ↓ scrolls")
}

func TestSearchOutput(t *testing.T) {
	var out strings.Builder
	for i := range 200 {
		fmt.Fprintf(&out, "line %03d ok\n", i)
	}
	out.WriteString("line 200 ERROR disk\n")
	h := backup(t, enginetest.Rule{Match: `^df`, Stdout: out.String()})
	h.press("enter")
	h.press("/")
	h.typeText("error")
	h.press("enter")
	h.mustSee("line 200 ERROR disk", "/error 1/1")
	if !strings.Contains(h.m.status.Message(), "match 1 of 1") {
		t.Errorf("status %q", h.m.status.Message())
	}
	h.press("/")
	h.typeText("zzz") // appended to the previous term
	h.press("enter")
	if !strings.Contains(h.m.status.Message(), "no match") {
		t.Errorf("status %q", h.m.status.Message())
	}
}

func TestScrollKeys(t *testing.T) {
	var out strings.Builder
	for i := range 300 {
		fmt.Fprintf(&out, "row %03d\n", i)
	}
	h := backup(t, enginetest.Rule{Match: `^df`, Stdout: out.String()})
	h.press("enter")
	h.mustSee("row 299")
	h.press("pgup")
	if h.m.out.Following() {
		t.Fatal("pgup kept following")
	}
	h.mustNotSee("row 299")
	h.press("home")
	h.mustSee("row 000")
	h.press("down")
	h.mustNotSee("row 000")
	h.press("up")
	h.mustSee("row 000")
	h.press("pgdown")
	h.mustNotSee("row 000")
	h.press("end")
	if !h.m.out.Following() {
		t.Fatal("end did not follow")
	}
	h.mustSee("row 299")
}

func TestFixNeedsInputsAndTheHostName(t *testing.T) {
	h := backup(t,
		enginetest.Rule{Match: `^df -hl`, Stdout: dfFull},
		enginetest.Rule{Match: `^rm -rf -- /srv/BigData/LocalBackup/old$`},
	)
	h.press("enter", "enter")
	h.wantPrompt(engine.PromptConfirm, "clear")
	h.press("enter")
	h.mustSee("press y to go on")
	h.press("y")
	if h.m.purpose != forFixInput {
		t.Fatal("y did not ask for the fix input")
	}
	h.typeText("/etc")
	h.mustSee("must be inside /srv/BigData/LocalBackup")
	h.press("enter")
	if h.m.purpose != forFixInput {
		t.Fatal("an invalid input was accepted")
	}
	for range 4 {
		h.send(keyMsg("backspace"))
	}
	h.typeText("/srv/BigData/LocalBackup/old")
	h.press("enter")
	if h.m.purpose != forDestructive {
		t.Fatal("a destructive fix did not ask for the host name")
	}
	h.mustSee(`DESTRUCTIVE — type "local" to confirm`)
	h.typeText("loc")
	h.press("enter")
	if h.fake.Ran("^rm") {
		t.Fatal("the fix ran without the full host name")
	}
	h.typeText("al")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "clear")
	if !h.fake.Ran(`^rm -rf -- /srv/BigData/LocalBackup/old$`) {
		t.Fatal("the fix did not run")
	}
	if !h.hasEvent(engine.EvConfirm, func(e engine.Event) bool { return e.Inputs["dir"] == "/srv/BigData/LocalBackup/old" }) {
		t.Error("confirmation not recorded with its input")
	}
}

func TestFixDecline(t *testing.T) {
	h := backup(t)
	h.press("enter", "enter", "n")
	h.wantPrompt(engine.PromptConfirm, "clear")
	if !h.hasEvent(engine.EvDecline, nil) {
		t.Fatal("decline not recorded")
	}
}

func TestManualStepWaitsForDone(t *testing.T) {
	rb := loadRunbook(t, "backup.yaml")
	_ = rb
	fake := enginetest.New(enginetest.Rule{Match: `^df`, Stdout: dfFull})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"), func(c *Config) { c.Options.StartAt = "verify" })
	h.settle()
	h.wantPrompt(engine.PromptManual, "verify")
	h.mustSee("Open the monitoring page", "press d (done)")
	h.press("enter")
	h.wantPrompt(engine.PromptManual, "verify")
	h.mustSee("press d when you have done this")
	h.press("d")
	if h.m.state != stateDone {
		t.Fatalf("state %s after d", h.m.state)
	}
	h.mustSee("Outcome: RESOLVED", "No further action is required.", "Path taken", "8 Confirm the alarm cleared", "No bundle configured.")
	h.press("q")
	h.until("quit", func() bool { return h.quit })
}

func TestTransportErrorRetryAndBack(t *testing.T) {
	h := backup(t,
		enginetest.Rule{Match: `^df`, Err: errors.New("connection reset by peer"), Times: 1},
		enginetest.Rule{Match: `^df`, Stdout: dfFull},
	)
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.mustSee("✗ local: connection reset by peer", "r retries", "o picks another route")
	if h.m.outline.Mark("check-space") != outline.Failed {
		t.Error("failed step not marked")
	}
	h.press("r")
	h.wantPrompt(engine.PromptDecided, "check-space")
	// And b from an error prompt.
	h = backup(t, enginetest.Rule{Match: `^df`, Err: errors.New("no route to host")})
	h.press("enter")
	h.wantPrompt(engine.PromptError, "check-space")
	h.press("b", "1")
	h.wantPrompt(engine.PromptRun, "check-space")
}

func TestQuitAsksFirst(t *testing.T) {
	h := backup(t)
	h.press("q")
	h.mustSee("Quit this session?", "y quits (recorded as aborted)")
	h.press("n")
	h.wantPrompt(engine.PromptRun, "check-space")
	h.press("q", "y")
	h.until("quit", func() bool { return h.quit })
	if h.m.result.Outcome != engine.OutcomeAborted {
		t.Fatalf("outcome %q", h.m.result.Outcome)
	}
	if !h.hasEvent(engine.EvSessionEnd, func(e engine.Event) bool { return e.Outcome == engine.OutcomeAborted }) {
		t.Error("abort not recorded")
	}
}

func TestQuitOffersBundleExport(t *testing.T) {
	h := backup(t)
	var exported *engine.Session
	h.m.cfg.ExportBundle = func(_ context.Context, s *engine.Session) (string, error) {
		exported = s
		return "/tmp/bundle.tar.gz", nil
	}
	h.press("q")
	h.mustSee("x exports the bundle")
	h.press("x")
	h.until("quit", func() bool { return h.quit })
	if exported == nil || h.m.result.BundlePath != "/tmp/bundle.tar.gz" {
		t.Fatalf("bundle not exported: %v %q", exported, h.m.result.BundlePath)
	}
	if ended, o, _ := exported.Ended(); !ended || o != engine.OutcomeAborted {
		t.Error("the exported session was not closed as aborted")
	}
}

// streamThenHang writes output, then blocks until cancelled: a probe that
// never finishes.
type streamThenHang struct{ *enginetest.Fake }

func (s streamThenHang) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	if strings.HasPrefix(req.Script, "tail -f") {
		_, _ = io.WriteString(stdout, "partial line from a cancelled run\n")
		<-ctx.Done()
		return engine.CommandResult{Exit: -1}, ctx.Err()
	}
	return s.Fake.Run(ctx, h, req, stdout, stderr)
}

func TestCtrlCCancelsARunningCommandThenQuits(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df`, Stdout: dfFull})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"), func(c *Config) {
		c.Options.Executor = streamThenHang{fake}
	})
	h.settle()
	h.press("e")
	for range len(h.m.input.Value()) {
		h.send(keyMsg("backspace"))
	}
	h.typeText("tail -f /var/log/messages")
	h.press("enter")
	h.send(keyMsg("enter"))
	h.until("the command to stream", func() bool { return h.m.out.Len() > 0 })
	h.mustSee("partial line from a cancelled run", "ctrl+c cancels the command")
	// A note typed while the command runs is kept for later.
	h.send(keyMsg("N"))
	h.typeText("it hangs")
	h.send(keyMsg("enter"))
	h.send(keyMsg("ctrl+c"))
	h.settle()
	h.wantPrompt(engine.PromptRun, "check-space")
	h.mustSee("■ the previous run was cancelled by the operator")
	h.mustNotSee("partial line from a cancelled run")
	if !h.hasEvent(engine.EvNote, func(e engine.Event) bool { return e.Text == "it hangs" }) {
		t.Error("the note typed during the run was lost")
	}
	// Idle (after another key): the first ctrl+c says what the next does,
	// the second interrupts: the session is not ended, so it can be resumed.
	h.press("g", "esc", "ctrl+c")
	if h.quit {
		t.Fatal("one ctrl+c while idle quit")
	}
	h.mustSee("ctrl+c again interrupts the session")
	h.press("ctrl+c")
	h.until("quit", func() bool { return h.quit })
	if !h.m.result.Interrupted || h.m.result.Outcome != "" {
		t.Fatalf("result %+v, want interrupted", h.m.result)
	}
	if h.hasEvent(engine.EvSessionEnd, func(engine.Event) bool { return true }) {
		t.Fatal("ctrl+c twice ended the session: it can no longer be resumed")
	}
}

func TestHostOutputCannotTouchTheTerminal(t *testing.T) {
	evil := "\x1b]52;c;cm0gLXJmIC8K\x07copied\n\x1b[2Jcleared\nFAILED\rPASSED\n\u202eSSAP\n\u009b2J\n"
	fake := enginetest.New(enginetest.Rule{Match: `^evil-probe$`, Stdout: evil})
	h := newHarness(t, "evil.yaml", fake)
	h.settle()
	h.press("enter")
	raw := h.m.render() // plain styles: the only escapes could come from the host
	if strings.ContainsRune(raw, 0x1b) || strings.ContainsRune(raw, '\r') || strings.ContainsRune(raw, 0x202e) || strings.ContainsRune(raw, 0x9b) || strings.ContainsRune(raw, 0x07) {
		t.Fatalf("raw control characters reached the screen: %q", raw)
	}
	h.mustSee(`\x1b]52;c;cm0gLXJmIC8K\x07copied`, `\x1b[2Jcleared`, `FAILED\rPASSED`, `<U+202E>SSAP`, `<U+009B>2J`)
	// Runbook strings too: title, doc, host description.
	h.mustSee(`Check <U+202E>deliaf<U+202C> status`, `Notes \x1b]52;c;cm0gLXJmIC8=\x07`)
	h.press("enter")
	h.mustSee("all hidden fine") // conceal (SGR 8) is dropped: the text shows
	if raw := h.m.render(); strings.ContainsRune(raw, 0x1b) {
		t.Fatalf("escape on the final screen: %q", raw)
	}
}

// testClock advances on Sleep: wait steps run without sleeping.
type testClock struct {
	mu  sync.Mutex // the TUI reads it at frames while the session sleeps
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func TestWaitShowsPolls(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: `^systemctl is-active demo$`, Stdout: "activating\n", Exit: 3, Times: 2},
		enginetest.Rule{Match: `^systemctl is-active demo$`, Stdout: "active\n"},
	)
	h := newHarness(t, "wait.yaml", fake, func(c *Config) { c.Options.Clock = &testClock{now: fixedNow} })
	h.settle()
	h.wantPrompt(engine.PromptRun, "wait-up")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "wait-up")
	h.mustSee("poll 1: not yet (0s elapsed)", "poll 2: not yet (10s elapsed)", "poll 3: satisfied (20s elapsed)", "satisfied after 3 polls")
}

func TestSSHRequestsAreAskedMaskedAndAnswered(t *testing.T) {
	reqs := NewRequests()
	h := newHarness(t, "backup.yaml", enginetest.New(), withParams("ticket", "INC1"), func(c *Config) { c.Requests = reqs })
	h.settle()
	got := make(chan string, 1)
	go func() {
		s, err := reqs.Secret(context.Background(), "sudo password on local", "local")
		got <- fmt.Sprintf("%s %v", s, err)
	}()
	h.until("the secret prompt", func() bool { return h.m.purpose == forSecret })
	h.typeText("hunter2")
	h.mustSee("sudo password on local", "•••••••")
	h.mustNotSee("hunter2")
	h.press("enter")
	if g := <-got; g != "hunter2 <nil>" {
		t.Fatalf("secret reply %q", g)
	}
	if h.m.input.Value() != "" {
		t.Error("the secret is still held by the input")
	}

	ok := make(chan bool, 1)
	go func() {
		b, _ := reqs.HostKey(context.Background(), "flink-a", "ssh-ed25519", "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")
		ok <- b
	}()
	h.until("the host key prompt", func() bool { return h.m.purpose == forHostKey })
	h.mustSee("Unknown host key for flink-a", "ssh-ed25519", "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")
	h.press("1")
	if !<-ok {
		t.Fatal("trusting the key replied false")
	}

	go func() {
		b, _ := reqs.HostKey(context.Background(), "flink-b", "ssh-rsa", "SHA256:x")
		ok <- b
	}()
	h.until("the host key prompt", func() bool { return h.m.purpose == forHostKey })
	h.press("esc")
	if <-ok {
		t.Fatal("esc trusted the key")
	}

	// A reflexive enter (the key that runs every step) refuses: trusting
	// takes y or 1, as OpenSSH takes a typed "yes".
	go func() {
		b, _ := reqs.HostKey(context.Background(), "flink-c", "ssh-ed25519", "SHA256:y")
		ok <- b
	}()
	h.until("the host key prompt", func() bool { return h.m.purpose == forHostKey })
	h.press("enter")
	if <-ok {
		t.Fatal("enter trusted an unknown host key")
	}
	h.wantPrompt(engine.PromptRun, "check-space")
}

func TestResizeKeepsTheScreenExact(t *testing.T) {
	h := backup(t)
	h.press("enter")
	for _, sz := range [][2]int{{80, 24}, {200, 50}, {100, 30}, {60, 15}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		lines := strings.Split(h.m.render(), "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for i, l := range lines {
			if w := displayWidth(l); w != sz[0] {
				t.Fatalf("%dx%d: line %d is %d wide: %q", sz[0], sz[1], i, w, l)
			}
		}
		h.mustSee("→ exit 0, used=93")
	}
	h.send(tea.WindowSizeMsg{Width: 30, Height: 10})
	h.mustSee("runbook needs at least 40×12")
}

func TestScrollbackIsBounded(t *testing.T) {
	var out strings.Builder
	out.WriteString("/dev/sda1 100G 50G 50G 50% /srv/BigData/LocalBackup\n") // the probe answers
	for i := range 5000 {
		fmt.Fprintf(&out, "line %d\n", i)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^df`, Stdout: out.String()})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"), func(c *Config) { c.Scrollback = 1000 })
	h.settle()
	h.press("enter")
	if n := h.m.out.Len(); n > 1250 {
		t.Fatalf("%d lines kept, cap 1000", n)
	}
	if h.m.out.Dropped() == 0 {
		t.Fatal("nothing dropped")
	}
	h.mustSee("line 4999", "of 5002")
	h.press("home")
	h.mustSee("earlier lines not kept here")
}

func TestBundleNoteOnQuitAndFinalScreen(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df`, Stdout: dfFull})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"), func(c *Config) {
		c.BundleNote = "written to /var/tmp/bundles when the TUI closes"
		c.Options.StartAt = "verify"
	})
	h.settle()
	h.press("q")
	h.mustSee("· bundle:", "/var/tmp/bundles")
	h.press("n", "d")
	h.mustSee("Bundle: written to /var/tmp/bundles when the TUI closes")
}

func TestCollectProgressInHeader(t *testing.T) {
	h := backup(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	h.m.state = stateRunning
	h.m.activity = "collecting"
	h.m.runStarted = fixedNow
	h.m.lastTick = fixedNow.Add(2 * time.Second)
	h.m.applyEvents([]taggedEvent{
		{ev: engine.Event{Type: engine.EvCollect, Step: "check-space", Host: "local", Path: "/var/log/a.log", Bytes: 3 << 20, Status: "ok"}},
		{ev: engine.Event{Type: engine.EvCollect, Step: "check-space", Host: "local", Path: "/var/log/b.log", Bytes: 1 << 20, Status: "truncated"}},
		{ev: engine.Event{Type: engine.EvCollect, Step: "check-space", Host: "local", Path: "/var/log/c.log", Status: "error", Error: "permission denied"}},
	})
	h.m.relayout()
	h.mustSee("collecting 2s", "2 files · 4.0 MiB · 2.0 MiB/s", "collect ok: /var/log/a.log (3.0 MiB)", "collect error: /var/log/c.log: permission denied")
	h.m.state = stateAsking
}

// "command cancelled · enter re-runs" is about the cancelled run: once the
// step runs again (or the walk goes on) it is gone from the status bar.
func TestCancelNoticeEndsWhenTheStepRunsAgain(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df`, Stdout: dfFull})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"), func(c *Config) {
		c.Options.Executor = streamThenHang{fake}
	})
	h.settle()
	h.press("e")
	for range len(h.m.input.Value()) {
		h.send(keyMsg("backspace"))
	}
	h.typeText("tail -f /var/log/messages")
	h.press("enter")
	h.send(keyMsg("enter"))
	h.until("the command to stream", func() bool { return h.m.out.Len() > 0 })
	h.send(keyMsg("ctrl+c"))
	h.settle()
	h.wantPrompt(engine.PromptRun, "check-space")
	if !strings.HasPrefix(h.m.status.Message(), "command cancelled") {
		t.Fatalf("status %q", h.m.status.Message())
	}
	h.press("enter") // runs the step again (its own command this time) to its decision
	h.wantPrompt(engine.PromptDecided, "check-space")
	if strings.HasPrefix(h.m.status.Message(), "command cancelled") {
		t.Errorf("the notice of the earlier cancel stays after the step ran again: %q", h.m.status.Message())
	}
}
