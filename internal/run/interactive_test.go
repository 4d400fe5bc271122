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
	"github.com/charmbracelet/x/ansi"

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

// screen is the TUI's output as a terminal would receive it; text is read
// with the escape sequences stripped, from a moving offset so a wait does
// not match what an earlier frame showed.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
	off int
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// waitFor polls (at most 20 s) until text appears after the last match.
func (s *screen) waitFor(t *testing.T, text string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		plain := ansi.Strip(s.buf.String()[s.off:])
		i := strings.Index(plain, text)
		if i >= 0 {
			// Move past this frame: the raw offset of the match is not known,
			// so skip everything received so far.
			s.off = s.buf.Len()
		}
		s.mu.Unlock()
		if i >= 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("run ended (%v) before the screen showed %q", err, text)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("screen never showed %q; last output:\n%s", text, ansi.Strip(s.buf.String()[max(0, s.buf.Len()-3000):]))
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
	f := &firstContact{t: t, scr: &screen{}, done: make(chan error, 1), known: filepath.Join(dir, "known_hosts"),
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
		f.t.Fatalf("run did not end; screen:\n%s", ansi.Strip(f.scr.buf.String()))
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
	f.press("\r") // run the probe
	f.scr.waitFor(t, "resolved", f.done)
	f.press("\r")
	f.scr.waitFor(t, "RESOLVED", f.done)
	f.press("q")
	if code := f.exit(); code != 0 {
		t.Fatalf("exit %d, want 0; stdout:\n%s", code, f.stdout)
	}
	if b, _ := os.ReadFile(f.known); !strings.Contains(string(b), "ssh-ed25519") {
		t.Errorf("accepted key not in known_hosts: %q", b)
	}
	if m := f.manifest(); m.Outcome != "resolved" {
		t.Errorf("bundle outcome %q", m.Outcome)
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
