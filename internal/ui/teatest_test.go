package ui

// End-to-end flows through a real Bubble Tea program (teatest v2), with a
// fixed colour profile and terminal size. Everything teatest-specific stays
// in this file.

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

type flow struct {
	t   *testing.T
	tm  *teatest.TestModel
	evs chan engine.Event
}

func startFlow(t *testing.T, rbFile string, fake *enginetest.Fake, params map[string]string) *flow {
	t.Helper()
	rb := loadRunbook(t, rbFile)
	fake.Unexpected = func(c enginetest.Call) { t.Errorf("unexpected command on %s: %s", c.Host, c.Script) }
	st := styles.DefaultStyles(true)
	f := &flow{t: t, evs: make(chan engine.Event, 4096)}
	m := New(context.Background(), Config{
		Runbook: rb,
		Options: engine.Options{
			Executor: fake,
			Targets:  map[string][]engine.Host{rb.Targets[0].Name: {{Role: rb.Targets[0].Name, Name: "local"}}},
			Params:   params,
			OnEvent:  func(e engine.Event) { f.evs <- e },
		},
		Styles: &st,
	})
	f.tm = teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	return f
}

// see waits until the screen output shows text (a hang guard fails after
// 20 s; nothing is timed).
func (f *flow) see(text string) {
	f.t.Helper()
	teatest.WaitFor(f.t, f.tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

func (f *flow) key(k string) { f.tm.Send(keyMsg(k)) }

func (f *flow) final() *Model {
	f.t.Helper()
	return f.tm.FinalModel(f.t, teatest.WithFinalTimeout(20*time.Second)).(*Model)
}

func (f *flow) events() []engine.Event {
	var out []engine.Event
	for {
		select {
		case e := <-f.evs:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestFlowStartToResolved(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: `^df -hl /srv/BigData/LocalBackup$`, Stdout: dfFull},
		enginetest.Rule{Match: `^rm -rf -- /srv/BigData/LocalBackup/2023$`},
	)
	f := startFlow(t, "backup.yaml", fake, map[string]string{})
	f.see("Ticket number")
	f.tm.Type("INC7")
	f.key("enter")
	f.see("Ready to run on local")
	f.key("enter")
	f.see("used=93")
	f.key("enter")
	f.see("This fix changes")
	f.key("y")
	f.see("Input dir")
	f.tm.Type("/srv/BigData/LocalBackup/2023")
	f.key("enter")
	f.see("to confirm")
	f.tm.Type("local")
	f.key("enter")
	f.see("exit 0: next")
	f.key("enter")
	f.see("press d (done)")
	f.key("d")
	f.see("Outcome: RESOLVED")
	f.key("q")
	m := f.final()
	if r := m.Result(); r.Outcome != engine.OutcomeResolved || r.Message != "No further action is required." {
		t.Fatalf("result %+v", r)
	}
	if !fake.Ran(`^rm -rf -- /srv/BigData/LocalBackup/2023$`) {
		t.Error("the confirmed fix did not run")
	}
	var path []string
	for _, e := range f.events() {
		if e.Type == engine.EvStepEnter {
			path = append(path, e.Step)
		}
	}
	if got := fmtList(path); got != "check-space clear verify resolved" {
		t.Errorf("path %s", got)
	}
}

func TestFlowOverrideThenGoBack(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df -hl`, Stdout: dfFull})
	f := startFlow(t, "backup.yaml", fake, map[string]string{"ticket": "INC8"})
	f.see("Ready to run on local")
	f.key("enter")
	f.see("used=93")
	f.key("o")
	f.see("Override: go to which step")
	f.key("2")
	f.see("Why override?")
	f.tm.Type("alarm is from a stale mount")
	f.key("enter")
	f.see("Anything else wrong?")
	f.key("b")
	f.see("Go back to which step?")
	f.key("2")
	f.see("Ready to run on local")
	f.key("enter")
	f.see("used=93")
	f.key("q")
	f.see("Quit this session?")
	f.key("y")
	m := f.final()
	if r := m.Result(); r.Outcome != engine.OutcomeAborted {
		t.Fatalf("outcome %q", r.Outcome)
	}
	var override, back bool
	for _, e := range f.events() {
		override = override || (e.Type == engine.EvOverride && e.Next == "ask-more" && e.Reason == "alarm is from a stale mount")
		back = back || (e.Type == engine.EvBack && e.Step == "check-space")
	}
	if !override || !back {
		t.Fatalf("override recorded %v, back recorded %v", override, back)
	}
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("probe ran %d times, want 2 (before and after going back)", n)
	}
}

func TestFlowCancelHangingProbe(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df -hl`, Hang: true})
	f := startFlow(t, "backup.yaml", fake, map[string]string{"ticket": "INC9"})
	f.see("Ready to run on local")
	f.key("enter")
	f.see("ctrl+c cancels the command")
	f.key("ctrl+c")
	f.see("previous run was cancelled")
	f.key("ctrl+c") // the second press interrupts: resumable, never aborted
	m := f.final()
	if r := m.Result(); !r.Interrupted || r.Outcome != "" {
		t.Fatalf("result %+v, want interrupted with no outcome", r)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("probe ran %d times, want 1", n)
	}
	for _, e := range f.events() {
		if e.Type == engine.EvSessionEnd {
			t.Errorf("an interrupted session was ended (%s): it could not be resumed", e.Outcome)
		}
	}
}

func fmtList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
