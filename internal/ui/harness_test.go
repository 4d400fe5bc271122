package ui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

// updateGolden reports -update (the flag is registered by teatest's golden
// package, which this test binary links).
func updateGolden() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	v, _ := f.Value.(flag.Getter).Get().(bool)
	return v
}

// fixedNow is the clock of every test: elapsed times in views are stable.
var fixedNow = time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)

// harness drives the root model the way Bubble Tea does, without a
// terminal: commands run on goroutines, their messages come back to Update
// on the test goroutine, in order of arrival.
type harness struct {
	t    *testing.T
	m    *Model
	fake *enginetest.Fake
	msgs chan tea.Msg
	quit bool
	evs  []engine.Event
}

func loadRunbook(t testing.TB, name string) *engine.Runbook {
	t.Helper()
	rb, err := engine.LoadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if ds := engine.Lint(rb); ds.HasErrors() {
		t.Fatal(ds)
	}
	return rb
}

type harnessOpt func(*Config)

func withParams(kv ...string) harnessOpt {
	return func(c *Config) {
		for i := 0; i+1 < len(kv); i += 2 {
			c.Options.Params[kv[i]] = kv[i+1]
		}
	}
}

func withTargets(role string, hosts ...string) harnessOpt {
	return func(c *Config) {
		c.Options.Targets = map[string][]engine.Host{}
		for _, h := range hosts {
			c.Options.Targets[role] = append(c.Options.Targets[role], engine.Host{Role: role, Name: h})
		}
	}
}

func newHarness(t *testing.T, rbFile string, fake *enginetest.Fake, opts ...harnessOpt) *harness {
	t.Helper()
	rb := loadRunbook(t, rbFile)
	if fake.Unexpected == nil {
		fake.Unexpected = func(c enginetest.Call) { t.Errorf("unexpected command on %s: %s", c.Host, c.Script) }
	}
	h := &harness{t: t, fake: fake, msgs: make(chan tea.Msg, 64)}
	role := rb.Targets[0].Name
	plain := styles.Plain()
	cfg := Config{
		Runbook: rb,
		Options: engine.Options{
			Executor: fake,
			Targets:  map[string][]engine.Host{role: {{Role: role, Name: "local"}}},
			Params:   map[string]string{},
			OnEvent:  func(e engine.Event) { h.evs = append(h.evs, e) },
		},
		Styles: &plain,
		Now:    func() time.Time { return fixedNow },
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.m = New(context.Background(), cfg)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.exec(h.m.Init())
	t.Cleanup(func() { h.m.pump.close() })
	return h
}

// exec runs a command tree like the Bubble Tea runtime.
func (h *harness) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if msg == nil {
			return
		}
		if batch, ok := msg.(tea.BatchMsg); ok {
			for _, c := range batch {
				h.exec(c)
			}
			return
		}
		h.msgs <- msg
	}()
}

func (h *harness) send(msg tea.Msg) {
	if _, ok := msg.(tea.QuitMsg); ok {
		h.quit = true
		return
	}
	_, cmd := h.m.Update(msg)
	h.exec(cmd)
}

// until processes messages until cond holds (a hang guard fails the test
// after 20 s; nothing is timed).
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case msg := <-h.msgs:
			h.send(msg)
		case <-deadline:
			h.t.Fatalf("stuck waiting for %s; state %s\n%s", what, h.m.state, h.screen())
		}
	}
}

// settle waits until no act runs.
func (h *harness) settle() {
	h.t.Helper()
	h.until("the session to settle", func() bool {
		return (h.m.state != stateRunning && h.m.pump.inflight.Load() == 0) || h.quit
	})
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// press sends keys and settles after each.
func (h *harness) press(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.send(keyMsg(k))
		h.settle()
	}
}

// typeText types text into the focused input.
func (h *harness) typeText(s string) {
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// screen is the plain text on screen, trailing spaces trimmed.
func (h *harness) screen() string {
	return plainScreen(h.m.render())
}

func plainScreen(s string) string {
	lines := strings.Split(ansi.Strip(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func (h *harness) mustSee(want ...string) {
	h.t.Helper()
	sc := h.screen()
	for _, w := range want {
		if !strings.Contains(sc, w) {
			h.t.Fatalf("screen does not show %q:\n%s", w, sc)
		}
	}
}

func (h *harness) mustNotSee(bad ...string) {
	h.t.Helper()
	sc := h.screen()
	for _, w := range bad {
		if strings.Contains(sc, w) {
			h.t.Fatalf("screen shows %q:\n%s", w, sc)
		}
	}
}

func (h *harness) prompt() engine.PromptKind {
	if h.m.prompt == nil {
		return ""
	}
	return h.m.prompt.Kind
}

func (h *harness) wantPrompt(k engine.PromptKind, step string) {
	h.t.Helper()
	if h.m.state != stateAsking || h.prompt() != k || h.m.prompt.Step.ID != step {
		got := "<nil>"
		if h.m.prompt != nil {
			got = string(h.m.prompt.Kind) + " at " + h.m.prompt.Step.ID
		}
		h.t.Fatalf("want %s prompt at %s, state %s prompt %s; status %q\n%s", k, step, h.m.state, got, h.m.status.Message(), h.screen())
	}
}

func (h *harness) hasEvent(typ engine.EventType, match func(engine.Event) bool) bool {
	for _, e := range h.evs {
		if e.Type == typ && (match == nil || match(e)) {
			return true
		}
	}
	return false
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

const dfFull = "Filesystem      Size  Used Avail Use% Mounted on\n/dev/sdb1       100G   93G  7.0G  93% /srv/BigData/LocalBackup\n"

func displayWidth(s string) int { return ansi.StringWidth(s) }
