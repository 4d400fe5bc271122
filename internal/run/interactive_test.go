package run

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/vt"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

const firstContactRunbook = `runbook: 1
id: first-contact
title: Who am I on the new host?
targets:
  web: {description: a host never seen before}
steps:
  - id: whoami
    title: Who runs the probes?
    run: {on: web, cmd: "id -un", timeout: 10s}
    branches:
      - {if: "exit == 0", goto: resolved}
    else: escalate
  - id: resolved
    end: resolved
    message: The new host answered.
  - id: escalate
    end: escalated
`

// screen is a virtual terminal (charmbracelet/x/vt) fed the TUI's output,
// so what a wait reads is what a terminal would show now: the renderer
// only redraws the cells that changed.
type screen struct {
	mu sync.Mutex // the emulator's String is not guarded by its own lock
	vt *vt.SafeEmulator
}

func newScreen(t *testing.T) *screen {
	e := vt.NewSafeEmulator(120, 35)
	// Answers to the TUI's terminal queries. The emulator is not closed:
	// its Close races with a pending Read; the reader ends with the process.
	go io.Copy(io.Discard, e)
	return &screen{vt: e}
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vt.Write(p)
}

func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vt.String()
}

// waitFor polls (at most 20 s) until the screen shows text.
func (s *screen) waitFor(t *testing.T, text string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.text(), text) {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("run ended (%v) before the screen showed %q; screen:\n%s", err, text, s.text())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("screen never showed %q; screen:\n%s", text, s.text())
}

type firstContact struct {
	t          *testing.T
	keys       *io.PipeWriter
	scr        *screen
	done       chan error
	known      string
	bundleDir  string
	journalDir string
	stdout     *bytes.Buffer
}

// startFirstContact runs the interactive path (the TUI, driven through
// pipes, no terminal) against a real sshd whose key is not known.
func startFirstContact(t *testing.T, ctx context.Context) *firstContact {
	t.Helper()
	sshd, err := sshtest.StartOpenSSH(t.TempDir())
	if errors.Is(err, sshtest.ErrNoSSHD) {
		t.Skip("SKIP real OpenSSH test: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sshd.Close() })
	rb, err := engine.Load("first-contact.yaml", []byte(firstContactRunbook))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &firstContact{t: t, scr: newScreen(t), done: make(chan error, 1), known: filepath.Join(dir, "known_hosts"),
		bundleDir: filepath.Join(dir, "bundles"), journalDir: filepath.Join(dir, "sessions"), stdout: &bytes.Buffer{}}
	os.MkdirAll(f.bundleDir, 0o700)
	keysR, keysW := io.Pipe()
	f.keys = keysW
	t.Cleanup(func() { keysW.Close() })
	opts := Options{
		Runbook:     rb,
		Targets:     map[string][]engine.Host{"web": {{Role: "web", Name: sshd.Target()}}},
		Interactive: true,
		SSH: ssh.Config{Identities: []string{sshd.IdentityFile}, KnownHosts: []string{f.known},
			HostKeyPolicy: ssh.PolicyAsk, NoAgent: true, NoDefaultIdentities: true, NoSSHConfig: true},
		Bundle:  BundleOptions{Path: f.bundleDir},
		Journal: JournalOptions{Dir: f.journalDir},
		UI: UIOptions{ProgramOptions: []tea.ProgramOption{
			tea.WithInput(keysR), tea.WithOutput(f.scr), tea.WithWindowSize(120, 35),
		}},
		Stdout: f.stdout, Stderr: io.Discard,
	}
	go func() { f.done <- Run(ctx, opts) }()
	return f
}

func (f *firstContact) press(keys string) {
	f.t.Helper()
	if _, err := f.keys.Write([]byte(keys)); err != nil {
		f.t.Fatalf("send %q: %v", keys, err)
	}
}

// exit waits (bounded) for Run to return and gives its exit code.
func (f *firstContact) exit() int {
	f.t.Helper()
	select {
	case err := <-f.done:
		return Code(err)
	case <-time.After(20 * time.Second):
		f.t.Fatalf("run did not end; screen:\n%s", f.scr.text())
	}
	return -1
}

func (f *firstContact) manifest() *bundle.Manifest {
	f.t.Helper()
	m, _ := filepath.Glob(filepath.Join(f.bundleDir, "*.tar.gz"))
	if len(m) != 1 {
		f.t.Fatalf("bundles: %v, want one", m)
	}
	man, err := bundle.Verify(m[0])
	if err != nil {
		f.t.Fatalf("verify bundle: %v", err)
	}
	return man
}

// The first interactive run against a new host: the fingerprint question
// appears before any step (the bundle's clock probe dials from inside the
// TUI), accepting it records the key and the walk goes on to the end.
func TestInteractiveFirstContactAccept(t *testing.T) {
	f := startFirstContact(t, context.Background())
	f.scr.waitFor(t, "Trust this host key?", f.done)
	f.press("y")
	f.scr.waitFor(t, "Ready to run on", f.done)
	f.press("\r")                                // run the probe
	f.scr.waitFor(t, "enter follows it", f.done) // the decision, shown
	f.press("\r")
	f.scr.waitFor(t, "Path taken", f.done) // the final screen; exit 0 below says resolved
	f.press("q")
	if code := f.exit(); code != 0 {
		t.Fatalf("exit %d, want 0; stdout:\n%s", code, f.stdout)
	}
	if b, _ := os.ReadFile(f.known); !strings.Contains(string(b), "ssh-ed25519") {
		t.Errorf("accepted key not in known_hosts: %q", b)
	}
	m := f.manifest()
	if m.Outcome != "resolved" {
		t.Errorf("bundle outcome %q", m.Outcome)
	}
	// The bundle says which key was verified and that the operator trusted it.
	if len(m.Targets) != 1 || !strings.HasPrefix(m.Targets[0].HostKey, "SHA256:") || m.Targets[0].HostKeyType != "ssh-ed25519" || m.Targets[0].HostKeyTrust != ssh.TrustOperator {
		t.Errorf("manifest targets %+v, want the verified key trusted by the operator", m.Targets)
	}
}

// Refusing the key ends cleanly: the step cannot run, the operator quits,
// and the bundle and journal are finalised; nothing hangs.
func TestInteractiveFirstContactReject(t *testing.T) {
	f := startFirstContact(t, context.Background())
	f.scr.waitFor(t, "Trust this host key?", f.done)
	f.press("n")
	// The step's own connection asks again (the refusal is not remembered
	// as trust); refuse again, then the step reports the refusal.
	f.scr.waitFor(t, "Ready to run on", f.done)
	f.press("\r")
	f.scr.waitFor(t, "Trust this host key?", f.done)
	f.press("n")
	f.scr.waitFor(t, "host key", f.done)
	f.press("q")
	f.scr.waitFor(t, "Quit this session?", f.done)
	f.press("y")
	if code := f.exit(); code != auto.ExitAborted {
		t.Fatalf("exit %d, want %d (aborted by the operator)", code, auto.ExitAborted)
	}
	if b, _ := os.ReadFile(f.known); len(b) != 0 {
		t.Errorf("refused key was written to known_hosts: %q", b)
	}
	if m := f.manifest(); m.Outcome != "aborted" {
		t.Errorf("bundle outcome %q, want aborted", m.Outcome)
	}
}

// Ctrl-C at the fingerprint question: the first declines it, the second
// interrupts the session: exit 130, resumable, bundle finalised.
func TestInteractiveFirstContactCtrlC(t *testing.T) {
	f := startFirstContact(t, context.Background())
	f.scr.waitFor(t, "Trust this host key?", f.done)
	f.press("\x03")
	f.scr.waitFor(t, "ctrl+c again interrupts", f.done)
	f.press("\x03")
	if code := f.exit(); code != auto.ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, auto.ExitInterrupted)
	}
	if !strings.Contains(f.stdout.String(), "resume with: runbook resume") {
		t.Errorf("stdout does not say how to resume:\n%s", f.stdout)
	}
	sums, _ := journal.List(f.journalDir)
	if len(sums) != 1 || sums[0].Outcome == "aborted" || sums[0].State == "ended" {
		t.Fatalf("journal summaries %+v, want one resumable session", sums)
	}
	if m := f.manifest(); m.Status != "incomplete" {
		t.Errorf("bundle of an interrupted session not marked incomplete: %+v", m.Status)
	}
}

// SIGTERM/SIGHUP cancel the run's context: a question waiting for the
// operator is released and the run ends as interrupted.
func TestInteractiveFirstContactContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := startFirstContact(t, ctx)
	f.scr.waitFor(t, "Trust this host key?", f.done)
	cancel()
	if code := f.exit(); code != auto.ExitInterrupted {
		t.Fatalf("exit %d, want %d", code, auto.ExitInterrupted)
	}
	f.manifest()
}

const paramsRunbook = `runbook: 1
id: needs-params
title: Echo two params
targets:
  host: {description: where to echo}
params:
  ticket: {type: string, description: the incident ticket}
  port: {type: int, min: 1, max: 65535, description: the service port}
steps:
  - id: echo
    title: Echo them
    run: {on: host, cmd: "printf '%s:%s' {{ params.ticket }} {{ params.port }}", timeout: 10s}
    branches:
      - {if: "stdout == 'INC-7:8080'", goto: resolved}
    else: escalate
  - id: resolved
    end: resolved
  - id: escalate
    end: escalated
`

// An interactive run with params missing asks for them (all of them, typed,
// with their descriptions) instead of exiting; unattended, it is exit 2
// naming every one.
func TestInteractiveAsksForMissingParams(t *testing.T) {
	rb, err := engine.Load("needs-params.yaml", []byte(paramsRunbook))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string][]engine.Host{"host": {{Role: "host", Name: "local"}}}

	err = Run(context.Background(), Options{Runbook: rb, Targets: targets, Journal: JournalOptions{Off: true}})
	if Code(err) != auto.ExitUsage || !strings.Contains(err.Error(), "ticket") || !strings.Contains(err.Error(), "port") {
		t.Fatalf("unattended: %v (exit %d), want exit 2 naming ticket and port", err, Code(err))
	}

	keysR, keysW := io.Pipe()
	defer keysW.Close()
	scr := newScreen(t)
	var stdout bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{Runbook: rb, Targets: targets, Interactive: true,
			Journal: JournalOptions{Off: true}, Bundle: BundleOptions{Path: t.TempDir()}, Stdout: &stdout,
			UI: UIOptions{ProgramOptions: []tea.ProgramOption{tea.WithInput(keysR), tea.WithOutput(scr), tea.WithWindowSize(120, 35)}}})
	}()
	press := func(s string) { keysW.Write([]byte(s)) }
	scr.waitFor(t, "Param 1 of 2: ticket — the incident ticket", done)
	press("INC-7\r")
	scr.waitFor(t, "Param 2 of 2: port — the service port", done)
	press("99999\r") // typed: out of range is refused in the form
	scr.waitFor(t, "65535", done)
	for range 5 {
		press("\x7f")
	}
	press("8080\r")
	scr.waitFor(t, "Ready to run on local", done)
	press("\r")
	scr.waitFor(t, "→ resolved", done) // the decision, shown
	press("\r")
	scr.waitFor(t, "Path taken", done)
	press("q")
	select {
	case err := <-done:
		if Code(err) != 0 {
			t.Fatalf("exit %d (%v)", Code(err), err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not end")
	}
}
