package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Client is the SSH executor: it runs steps and fetches files on remote
// hosts over pooled connections. Safe for concurrent use.
type Client struct {
	cfg                Config
	sshcfg             sshConfigs
	sshcfgErr          error  // the parser's error, when ssh -G resolves instead
	sshG               string // ssh binary for `ssh -G`; "" resolves with the parser
	hk                 *hostKeys
	explicitKnownHosts bool

	mu        sync.Mutex
	hkByFiles map[string]*hostKeys
	verified  map[string]HostKeyInfo // by the name the key was checked under
	resolved  map[string]*endpoint   // ssh -G results by name

	pool   pool
	closed bool          // under pool.mu
	fleet  fleetState    // shared jump hosts, handshake limits (fleet_dial.go)
	forks  chan struct{} // Config.Forks: hosts working at once
}

var _ engine.Executor = (*Client)(nil)

// New builds a Client. It reads ssh_config and known_hosts now, so a broken
// file is reported before the first step.
func New(cfg Config) (*Client, error) {
	cfg.defaults()
	c := &Client{cfg: cfg, hkByFiles: map[string]*hostKeys{}, pool: pool{conns: map[string]*poolEntry{}},
		forks: make(chan struct{}, cfg.Forks), resolved: map[string]*endpoint{}}
	sshcfg, read, parseErr := loadSSHConfigs(&c.cfg)
	var err error
	if c.sshG, err = chooseResolver(&c.cfg, read, parseErr); err != nil {
		return nil, err
	}
	c.sshcfg, c.sshcfgErr = sshcfg, parseErr
	files := cfg.KnownHosts
	c.explicitKnownHosts = len(files) > 0
	if len(files) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			files = append(files, filepath.Join(home, ".ssh", "known_hosts"))
		}
		files = append(files, "/etc/ssh/ssh_known_hosts")
	}
	if c.hk, err = newHostKeys(files); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes every pooled connection.
func (c *Client) Close() error {
	c.pool.mu.Lock()
	c.closed = true
	entries := c.pool.conns
	c.pool.conns = map[string]*poolEntry{}
	c.pool.mu.Unlock()
	for _, e := range entries {
		<-e.ready
		if e.cn != nil {
			e.cn.fail(errors.New("ssh client closed"))
		}
	}
	c.closeJumps()
	return nil
}

// Run implements engine.Executor: `sh -c SCRIPT` on the host, output
// streamed to stdout and stderr as it arrives. A non-zero exit or a signal
// is a result; a Go error is a transport failure (*engine.TransportError
// wrapping the typed errors of this package).
func (c *Client) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	release, err := c.fork(ctx)
	if err != nil {
		return engine.CommandResult{Exit: -1}, err
	}
	defer release()
	var pass []byte
	if req.Sudo && len(req.Stdin) > 0 {
		pass = req.Stdin
	}
	res, err := c.run(ctx, h, req, pass, stdout, stderr)
	var spe *SudoPasswordError
	if errors.As(err, &spe) && c.cfg.SudoPassword != nil {
		p, perr := c.cfg.SudoPassword(h.Name)
		if perr != nil {
			return res, &engine.TransportError{Host: h, Err: fmt.Errorf("sudo password: %w", perr)}
		}
		res, err = c.run(ctx, h, req, p, stdout, stderr)
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = &engine.TransportError{Host: h, Err: err}
	}
	return res, err
}

// sudoNeedsPassword is what `sudo -n` prints when the account needs a
// password (sudo's own message; there is no exit code for it).
var sudoNeedsPassword = []byte("sudo: a password is required")

func (c *Client) run(ctx context.Context, h engine.Host, req engine.CommandRequest, sudoPass []byte, stdout, stderr io.Writer) (engine.CommandResult, error) {
	fail := engine.CommandResult{Exit: -1}
	// Reaching the host (dial, a session slot) is bounded like the command
	// and its kill delay together.
	rctx := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, req.Timeout+c.cfg.KillAfter+2*time.Second)
		defer cancel()
	}
	rc := RemoteCommand{Script: req.Script, Sudo: req.Sudo, KillAfter: c.cfg.KillAfter, Nonce: newNonce()}
	if req.Sudo && len(sudoPass) > 0 {
		rc.SudoStdin = true
	}
	if err := rc.TooLong(); err != nil {
		return fail, err
	}
	line := rc.String()
	cn, sess, release, err := c.session(rctx, h.Dial())
	if err != nil {
		return fail, err
	}
	defer release()
	defer sess.Close()

	var sniff *headWriter
	if req.Sudo {
		sniff = &headWriter{max: 256}
		stderr = io.MultiWriter(stderr, sniff)
	}
	// The wrapper's reports arrive on stderr; they never reach the caller.
	marks := newMarkerFilter(stderr, rc.Nonce)
	stderr = marks
	// stdin stays open for the life of the command: its EOF is the remote
	// watchdog's signal that we are gone (see RemoteCommand).
	stdin, err := sess.StdinPipe()
	if err != nil {
		return fail, fmt.Errorf("open stdin: %w", err)
	}
	sess.Stdout, sess.Stderr = stdout, stderr
	start := time.Now()
	if err := sess.Start(line); err != nil {
		return fail, fmt.Errorf("start command: %w", err)
	}
	first := rc.Payload() // the command itself, in the stdin form
	if rc.SudoStdin {
		// The password is sudo -S's first line of stdin, never argv.
		first = append(bytes.TrimRight(append([]byte{}, sudoPass...), "\n"), '\n')
	}
	// Written aside: a host that never reads stdin (a ForceCommand) must
	// not hold us past the timeout once what we send is over its window.
	// stdin closes only once the write is done (both touch the channel).
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = stdin.Write(first)
	}()
	defer func() {
		select {
		case <-wrote:
		default:
			sess.Close() // ends the write once the host closes too
			t := time.NewTimer(2 * time.Second)
			defer t.Stop()
			select {
			case <-wrote:
			case <-t.C:
				return // a host gone silent: the keepalive ends the connection, and the write
			}
		}
		stdin.Close()
	}()
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	var deadline <-chan time.Time
	if req.Timeout > 0 {
		t := time.NewTimer(req.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	// abandon closes the channel on a command we stop waiting for.
	abandon := func(signal string) engine.CommandResult {
		c.kill(sess, done)
		_ = marks.flush()
		return engine.CommandResult{Exit: -1, Signal: signal, Duration: time.Since(start)}
	}
	var werr error
	timedOut := false
	select {
	case werr = <-done:
	case <-deadline:
		// The step's timeout: stdin's EOF tells the remote watchdog to TERM
		// the command's process group (KILL after KillAfter); what the
		// command prints meanwhile is still read.
		timedOut = true
		select {
		case <-wrote:
			stdin.Close()
		default:
			// It never even read its command.
			res := abandon("KILL")
			res.TimedOut = true
			return res, nil
		}
		bound := time.NewTimer(c.cfg.KillAfter + 2*time.Second)
		defer bound.Stop()
		select {
		case werr = <-done:
		case <-bound.C:
			// The host did not end it (or vanished): close the channel.
			res := abandon("KILL")
			res.TimedOut = true
			return res, nil
		case <-ctx.Done():
			return abandon("TERM"), ctx.Err()
		}
	case <-ctx.Done():
		return abandon("TERM"), ctx.Err()
	}
	_ = marks.flush()
	res := engine.CommandResult{Duration: time.Since(start)}
	var ee *gossh.ExitError
	var missing *gossh.ExitMissingError
	switch {
	case werr == nil:
	case errors.As(werr, &ee):
		if ee.Signal() != "" {
			res.Exit, res.Signal = -1, ee.Signal()
		} else {
			res.Exit = ee.ExitStatus()
		}
	case errors.As(werr, &missing):
		// A channel closed without a status, or the whole connection
		// went: ask the connection before calling it one or the other.
		if derr := cn.probe(); derr != nil {
			return fail, derr
		}
		return fail, ErrNoExitStatus
	default:
		if derr := cn.probe(); derr != nil {
			return fail, derr
		}
		return fail, fmt.Errorf("%w: %v", ErrConnectionLost, werr)
	}
	started, stdinEOF, head := marks.state()
	if !started {
		// The login shell ended without /bin/sh running our command:
		// whatever status it gave is not the probe's.
		return fail, &WrapperError{Host: h.Name, Exit: res.Exit, Signal: res.Signal, Stderr: head, Stdin: rc.viaStdin()}
	}
	if timedOut {
		res.TimedOut = true
		return res, nil
	}
	if stdinEOF {
		return fail, fmt.Errorf("%w while the command ran (exit %d, signal %q; a ForceCommand or restricted shell that does not pass stdin through?): runbook keeps stdin open to be able to stop the command, so this result is not the probe's answer", ErrStdinClosed, res.Exit, res.Signal)
	}
	if sniff != nil && res.Exit == 1 && len(sudoPass) == 0 && bytes.Contains(sniff.buf, sudoNeedsPassword) {
		return res, &SudoPasswordError{Host: h.Name}
	}
	return res, nil
}

// kill ends a cancelled command by closing the channel: sshd closes the
// command's stdin, the remote watchdog sees EOF and TERMs the process group
// (see RemoteCommand). A "signal" request would not do: sshd refuses it
// for root logins. The wait for Wait is bounded for a host that vanished.
func (c *Client) kill(sess *gossh.Session, done <-chan error) {
	sess.Close()
	bound := time.NewTimer(2 * time.Second)
	defer bound.Stop()
	select {
	case <-done:
	case <-bound.C:
	}
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *headWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := w.max - len(w.buf); n > 0 {
		w.buf = append(w.buf, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// fork waits for one of Config.Forks slots: a group of hundreds of hosts
// runs Forks at a time, the rest queue (in the order they asked).
func (c *Client) fork(ctx context.Context) (func(), error) {
	select {
	case c.forks <- struct{}{}:
		return func() { <-c.forks }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
