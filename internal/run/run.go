package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ui"
)

// Options is everything one run needs. cmd/runbook builds it from flags
// (`run`), from a scenario (`demo`) or from a journal (`resume`).
type Options struct {
	Runbook  *engine.Runbook
	Targets  map[string][]engine.Host
	Params   map[string]string
	Captures map[string]map[string]string // values --start-at skips (STEP -> NAME -> VALUE)
	StartAt  string
	DryRun   bool

	// Interactive opens the TUI; otherwise the unattended driver answers by
	// Policy. cmd/runbook decides (terminal and no --auto); tests force it.
	Interactive bool
	Policy      auto.Policy
	Output      string // unattended result: text (default), json or jsonl

	// Remote runs every host that is not `local`. Nil: the SSH transport
	// built from SSH, with its prompts wired to the TUI when interactive.
	Remote engine.Executor
	SSH    ssh.Config
	// Clock drives wait steps (nil: the real clock; demo scales it).
	Clock engine.Clock

	Journal JournalOptions
	Bundle  BundleOptions
	UI      UIOptions

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	ToolVersion    string
}

// JournalOptions says where the session is journaled.
type JournalOptions struct {
	Dir string // default journal.Dir()
	Off bool   // no journal (tests); a journal that cannot be created only warns
	// Resume continues this journaled session instead of starting one.
	Resume *Resume
	// Demo marks a demo session, so listings and resume know its hosts were
	// simulated (resume starts the same simulated hosts again).
	Demo *journal.Demo
}

// Resume is a journaled session to continue.
type Resume struct {
	Path   string
	Header journal.Header
	Events []engine.Event
	// OnlyFailed: the step it resumes at runs again for only the hosts
	// that failed it (--only-failed).
	OnlyFailed bool
}

// BundleOptions configures the session's log bundle.
type BundleOptions struct {
	// Path is a directory or file name. Empty: no bundle unattended; the
	// default directory (DefaultDir) interactively: every TUI session ends
	// with one.
	Path       string
	DefaultDir func() (string, error)
	NoRedact   bool
	// Pseudonymise replaces IP addresses and host names in the bundle; the
	// map is written beside it (bundle.Options.Pseudonymise).
	Pseudonymise bool
	MaxBytes     int64
	MaxFileBytes int64
	NoClockSkew  bool
}

// UIOptions configures the TUI.
type UIOptions struct {
	Scrollback int
	// Banner is shown on screen, e.g. "demo · scenario X · simulated hosts".
	Banner string
	// ProgramOptions are extra Bubble Tea options: tests drive the TUI
	// without a terminal (tea.WithInput, tea.WithOutput, tea.WithWindowSize).
	ProgramOptions []tea.ProgramOption
}

// ExitError carries the process exit code of a run (see auto.Exit*).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Usage is an exit-2 error: bad flags, values or runbook.
func Usage(format string, args ...any) error {
	return &ExitError{Code: auto.ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Code is the exit code err stands for: 0 for nil, its ExitError code, else 1.
func Code(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return auto.ExitFailure
}

// Run walks the runbook: prompt bridge → transport → journal → bundle →
// pre-steps → session → driver → finalise. The returned error is an
// *ExitError whose Code is the documented exit code (nil: resolved).
func Run(ctx context.Context, o Options) (err error) {
	l, err := newLifecycle(o)
	if err != nil {
		return err
	}
	defer func() {
		r := recover()
		if r != nil {
			fmt.Fprintf(l.o.Stderr, "runbook: internal error: %v\n%s", r, debug.Stack())
			l.failure = fmt.Errorf("internal error: %v", r)
		}
		l.finish(ctx)
		if r != nil {
			err = &ExitError{Code: auto.ExitFailure, Err: fmt.Errorf("internal error: %v (journal and bundle were closed)", r)}
		}
	}()
	l.openBridge(ctx)
	if err := l.openTransport(ctx); err != nil {
		return err
	}
	if err := l.openJournal(); err != nil {
		return err
	}
	if err := l.openBundle(); err != nil {
		return err
	}
	if o.Interactive {
		return l.interactive(ctx)
	}
	return l.unattended(ctx)
}

// lifecycle is the state of one Run: what is open and must be finalised.
type lifecycle struct {
	o       Options
	sopts   engine.Options
	resumed bool

	requests  *ui.Requests // the prompt bridge (interactive)
	remote    engine.Executor
	closeSSH  func()
	sshClient *ssh.Client
	jw        *journal.Writer
	id        string
	bundle    *bundleRun

	// What happened, for the finish path.
	session     *engine.Session
	result      *auto.Result // unattended
	interrupted bool
	failure     error
	finished    bool
}

func newLifecycle(o Options) (*lifecycle, error) {
	if o.Stdin == nil {
		o.Stdin = strings.NewReader("")
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	switch o.Output {
	case "":
		o.Output = "text"
	case "text", "json", "jsonl":
	default:
		return nil, Usage("--output must be text, json or jsonl")
	}
	if o.Runbook == nil {
		return nil, Usage("no runbook")
	}
	l := &lifecycle{o: o, resumed: o.Journal.Resume != nil}
	l.sopts = engine.Options{Targets: o.Targets, Params: o.Params, DryRun: o.DryRun, StartAt: o.StartAt,
		Captures: o.Captures, Clock: o.Clock}
	if r := o.Journal.Resume; r != nil {
		l.sopts.Resume, l.sopts.OnlyFailed = r.Events, r.OnlyFailed
	}
	// Validate targets and params before a journal exists for a session
	// that cannot start. Missing params are asked for in the TUI.
	if _, err := engine.NewSession(o.Runbook, l.sopts); err != nil {
		var miss *engine.MissingParamsError
		if !o.Interactive || !errors.As(err, &miss) {
			return nil, Usage("%v", err)
		}
	}
	return l, nil
}

// openBridge creates the channel through which the transport asks the
// operator (host keys, passphrases, passwords). Its questions obey ctx.
func (l *lifecycle) openBridge(ctx context.Context) {
	if !l.o.Interactive {
		return
	}
	l.requests = ui.NewRequests()
	context.AfterFunc(ctx, l.requests.Close)
}

// openTransport builds the executor for remote hosts. Nothing dials here.
func (l *lifecycle) openTransport(ctx context.Context) error {
	l.remote = l.o.Remote
	if l.remote == nil && needsRemote(l.o.Targets) {
		cfg := l.o.SSH
		if l.requests != nil {
			bridgePrompts(ctx, &cfg, l.requests)
		}
		c, err := ssh.New(cfg)
		if err != nil {
			return Usage("ssh transport: %v", err)
		}
		l.remote, l.sshClient = c, c
		l.closeSSH = func() { c.Close() }
	}
	l.sopts.Executor = router{local: ssh.Local{}, remote: l.remote}
	return nil
}

func needsRemote(targets map[string][]engine.Host) bool {
	for _, hs := range targets {
		for _, h := range hs {
			if !h.IsLocal() {
				return true
			}
		}
	}
	return false
}

// openJournal creates (or reopens for resume) the session journal. Losing
// a new journal must not stop a 3 a.m. run; it is said loudly instead.
// A journal being resumed must open: another process may hold it.
func (l *lifecycle) openJournal() error {
	o := l.o
	if o.Journal.Off {
		return nil
	}
	dir := o.Journal.Dir
	if dir == "" {
		dir = journal.Dir()
	}
	var err error
	if r := o.Journal.Resume; r != nil {
		l.id = r.Header.ID
		l.jw, err = journal.Append(r.Path, journal.LastSeq(r.Events))
		if errors.Is(err, journal.ErrLocked) {
			return Usage("session %s: %v", l.id, err)
		}
		if err != nil {
			return &ExitError{Code: auto.ExitFailure, Err: fmt.Errorf("resume session %s: %w", l.id, err)}
		}
		return nil
	}
	{
		now := time.Now()
		rb := o.Runbook
		h := journal.Header{
			ID: journal.NewID(rb.ID, now), Runbook: rb.ID, Title: rb.Title, File: rb.File, SHA256: rb.SHA256,
			Source: string(rb.Raw), Includes: journal.Includes(rb), Targets: HostNames(o.Targets), Addrs: HostAddrs(o.Targets), Params: PublicParams(rb, o.Params),
			Captures: flatCaptures(o.Captures), StartAt: o.StartAt, DryRun: o.DryRun, Started: now, PID: os.Getpid(),
			Demo: o.Journal.Demo,
		}
		h.Hostname, _ = os.Hostname()
		l.id = h.ID
		l.jw, err = journal.Create(dir, h)
	}
	if err != nil {
		l.jw = nil
		fmt.Fprintf(o.Stderr, "runbook: warning: no session journal (resume will not be possible): %v\n", err)
	}
	return nil
}

// sinks are the event consumers every driver shares. The journal's
// fsyncs wait in settle, outside the session's event lock.
func (l *lifecycle) sinks() []func(engine.Event) {
	var out []func(engine.Event)
	if l.jw != nil {
		out = append(out, l.jw.Write)
	}
	if l.bundle != nil {
		out = append(out, l.bundle.w.Event)
	}
	return out
}

// settle is the session's Settle: the journal's durable events wait here.
func (l *lifecycle) settle() func(engine.Event) {
	if l.jw == nil {
		return nil
	}
	return l.jw.Settle
}

func fanout(sinks []func(engine.Event)) func(engine.Event) {
	return func(e engine.Event) {
		for _, f := range sinks {
			f(e)
		}
	}
}

// preSteps is what runs before the first step: the bundle's clock-skew
// probe. It dials, so it may ask the operator (host key, passphrase).
func (l *lifecycle) preSteps(ctx context.Context) {
	if l.bundle == nil || l.o.Bundle.NoClockSkew {
		return
	}
	measureSkew(ctx, l.bundle.w, l.sopts.Executor, l.o.Targets)
}

// finish closes everything that was opened, once: bundle (with host keys
// and outcome), journal, transport. It runs on every path out of Run.
func (l *lifecycle) finish(ctx context.Context) {
	if l.finished {
		return
	}
	l.finished = true
	interrupted := l.interrupted || ctx.Err() != nil
	if l.jw != nil && l.session != nil {
		if ended, _, _ := l.session.Ended(); !ended {
			l.journalStop(interrupted)
		}
	}
	if l.bundle != nil {
		if l.session != nil {
			l.bundle.secrets(l.session)
		}
		l.bundle.closeWith(ctx, l.final(interrupted), l.o.Stderr, l.result)
	}
	if l.jw != nil {
		if err := l.jw.Close(); err != nil {
			fmt.Fprintf(l.o.Stderr, "runbook: warning: session journal: %v\n", err)
			if l.result != nil {
				l.result.Errors = append(l.result.Errors, "journal: "+err.Error())
			}
		}
	}
	if l.closeSSH != nil {
		l.closeSSH()
	}
	if l.requests != nil {
		l.requests.Close()
	}
}

// journalStop records why a session that did not end stopped, so
// `runbook sessions` shows it and `runbook resume` continues it.
func (l *lifecycle) journalStop(interrupted bool) {
	step, reason, outcome := "", "", string(auto.Interrupted)
	if cur := l.session.Current(); cur != nil {
		step = cur.ID
	}
	switch res := l.result; {
	case res != nil:
		outcome, reason = string(res.Outcome), strings.Join(res.Errors, "; ")
		if res.Stopped != nil {
			step, reason = res.Stopped.Step, res.Stopped.Reason
		}
	case l.failure != nil:
		outcome, reason = string(auto.Failed), l.failure.Error()
	case interrupted:
		reason = "interrupted by the operator or a signal"
	}
	l.jw.Stop(outcome, step, reason, time.Now())
}

// recordHostKeys puts each remote host's verified key, and how it was
// trusted, into the bundle's manifest and report.
func (l *lifecycle) recordHostKeys() {
	if l.sshClient == nil {
		return
	}
	for _, hs := range l.o.Targets {
		for _, h := range hs {
			if h.IsLocal() {
				continue
			}
			if k, ok := l.sshClient.HostKey(h.Name); ok {
				l.bundle.w.SetHost(h.Name, bundle.HostInfo{HostKey: k.Fingerprint, KeyType: k.KeyType, Trust: k.Trust, Source: k.Source})
			}
		}
	}
}
