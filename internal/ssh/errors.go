package ssh

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; the typed errors below wrap them so callers can use
// errors.Is for the category and errors.As for the details.
var (
	// ErrHandshakeTimeout: TCP connected but no SSH handshake completed in time.
	ErrHandshakeTimeout error = &kindError{msg: "ssh handshake timed out", timeout: true}
	// ErrHostDead: keepalives went unanswered; the host or the network vanished.
	ErrHostDead error = &kindError{msg: "host stopped answering keepalives", timeout: true}
	// ErrConnectionLost: the connection broke while a command or transfer ran.
	ErrConnectionLost = errors.New("connection lost")
	// ErrNoExitStatus: the remote side closed the session without an exit status.
	ErrNoExitStatus = errors.New("command ended without an exit status")
	// ErrSudoPassword: `sudo -n` refused because the account needs a password.
	ErrSudoPassword = errors.New("sudo needs a password")
	// ErrPassphrase: an identity file is encrypted and nobody can type its passphrase.
	ErrPassphrase error = &kindError{msg: "identity file is encrypted and no passphrase prompt is available", auth: true}
	// ErrHostKeyChanged: the host offered a key different from known_hosts.
	ErrHostKeyChanged error = &kindError{msg: "REMOTE HOST IDENTIFICATION HAS CHANGED", final: true}
	// ErrHostUnknown: the host is not in known_hosts and the policy refused it.
	ErrHostUnknown error = &kindError{msg: "host key is not known", final: true}
	// ErrHostKeyRevoked: the host key is marked @revoked in known_hosts.
	ErrHostKeyRevoked error = &kindError{msg: "host key is revoked", final: true}
)

// kindError is a sentinel that says what kind of failure it is, through the
// optional methods engine.CanRetry, engine.IsTimeout and engine.IsAuthFailure
// look for: drivers offer only what makes sense (no retry on a changed host
// key, retry or skip on a timeout, re-authentication on an auth failure).
type kindError struct {
	msg                  string
	timeout, auth, final bool
}

func (e *kindError) Error() string     { return e.msg }
func (e *kindError) Timeout() bool     { return e.timeout }
func (e *kindError) AuthFailure() bool { return e.auth }
func (e *kindError) Retryable() bool   { return !e.final }

// HostKeyChangedError is the hard stop for a changed host key: no flag or
// policy overrides it. It shows both fingerprints, as OpenSSH does.
type HostKeyChangedError struct {
	Host string   // the name the key was checked under
	Got  string   // SHA256 fingerprint offered by the host
	Want []string // fingerprints known_hosts holds, with file:line
}

func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("%v for %s: the host offered %s but known_hosts has %s; someone could be eavesdropping (man-in-the-middle), or the host key was replaced. Fix known_hosts by hand after checking with the host's owner",
		ErrHostKeyChanged, e.Host, e.Got, strings.Join(e.Want, ", "))
}
func (e *HostKeyChangedError) Unwrap() error { return ErrHostKeyChanged }

// UnknownHostError: the host is not in known_hosts and the policy (strict, or
// ask answered no) refused to trust it.
type UnknownHostError struct {
	Host        string
	KeyType     string
	Fingerprint string
	Policy      Policy
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("%v for %s (%s key %s); host key policy %q refuses unknown hosts: add it to known_hosts (ssh-keyscan, after checking the fingerprint) or use --host-key-policy ask|accept-new",
		ErrHostUnknown, e.Host, e.KeyType, e.Fingerprint, e.Policy)
}
func (e *UnknownHostError) Unwrap() error { return ErrHostUnknown }

// DialError wraps a failure to reach a host (TCP, handshake, auth, host key)
// with the hop it happened on.
type DialError struct {
	Host string // name as resolved (user@hostname:port)
	Via  string // the jump host chain, empty when direct
	Err  error
}

func (e *DialError) Error() string {
	if e.Via != "" {
		return fmt.Sprintf("connect to %s via %s: %v", e.Host, e.Via, e.Err)
	}
	return fmt.Sprintf("connect to %s: %v", e.Host, e.Err)
}
func (e *DialError) Unwrap() error { return e.Err }

// AuthError: the server refused every method we offered.
type AuthError struct {
	User, Host string
	Tried      []string // what was offered, e.g. "key /root/.ssh/id_ed25519", "agent key ..."
	Notes      []string // why some identities could not be offered
	Err        error
}

func (e *AuthError) Error() string {
	msg := fmt.Sprintf("authentication as %s on %s failed", e.User, e.Host)
	if len(e.Tried) > 0 {
		msg += " (offered: " + strings.Join(e.Tried, "; ") + ")"
	} else {
		msg += " (no identities to offer: use -i, ssh-agent, or IdentityFile in ssh_config)"
	}
	for _, n := range e.Notes {
		msg += "; " + n
	}
	return msg
}
func (e *AuthError) Unwrap() error { return e.Err }

// AuthFailure marks the error for engine.IsAuthFailure: re-authenticate, then retry.
func (e *AuthError) AuthFailure() bool { return true }

// SudoPasswordError: `sudo -n` needs a password on this host. The TUI asks
// for it (Config.SudoPassword); --auto reports this error.
type SudoPasswordError struct{ Host string }

func (e *SudoPasswordError) Error() string {
	return fmt.Sprintf("sudo on %s needs a password (sudo -n refused); run interactively to type it, or allow NOPASSWD for this command", e.Host)
}
func (e *SudoPasswordError) Unwrap() error { return ErrSudoPassword }

// AuthFailure marks the error for engine.IsAuthFailure: the password is asked again on retry.
func (e *SudoPasswordError) AuthFailure() bool { return true }

var (
	// ErrWrapperNotStarted: the host ended the session but /bin/sh never ran
	// runbook's command (the login shell could not parse or run the
	// bootstrap, no /bin/sh, a ForceCommand that ignores the
	// command). Nothing of the script ran; it is never a result.
	ErrWrapperNotStarted = errors.New("the command did not start on the host")
	// ErrStdinClosed: the host closed the command's stdin while runbook held
	// it open (e.g. a ForceCommand that runs `... </dev/null`), which the
	// wrapper reads as "runbook went away" and ends the command.
	ErrStdinClosed = errors.New("the host closed the command's stdin")
	// ErrCommandTooLong: the command line is over MaxCommandLine bytes and
	// the host's exec would refuse it; nothing was sent.
	ErrCommandTooLong = errors.New("command line too long")
)

// WrapperError says the wrapper did not start and what the host said
// instead (untrusted text, quoted).
type WrapperError struct {
	Host   string
	Exit   int    // what the session ended with (-1 when a signal)
	Signal string // set when it ended by a signal
	Stderr string // the first bytes the login shell printed
	// Stdin: the command went on stdin (RemoteCommand's stdin form).
	Stdin bool
}

// noStdin: the host ran the bootstrap, quietly and well, but its /bin/sh
// read no command: stdin did not reach it (a ForceCommand `... </dev/null`).
func (e *WrapperError) noStdin() bool {
	return e.Stdin && e.Exit == 0 && e.Signal == "" && strings.TrimSpace(e.Stderr) == ""
}

func (e *WrapperError) Error() string {
	if e.noStdin() {
		return fmt.Sprintf("%v: %s ran `%s` but its /bin/sh found no command on stdin, where runbook sends it (nothing ran); a ForceCommand or restricted shell that does not pass stdin through, such as `... </dev/null`?", ErrWrapperNotStarted, e.Host, stdinBootstrap)
	}
	how := fmt.Sprintf("exit %d", e.Exit)
	if e.Signal != "" {
		how = "signal " + e.Signal
	}
	msg := fmt.Sprintf("%v: %s's login shell ended (%s) without running it under /bin/sh", ErrWrapperNotStarted, e.Host, how)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += fmt.Sprintf("; it said %q", s)
	}
	return msg + "; check the account's shell, that /bin/sh exists there, and any ForceCommand"
}

// Unwrap: ErrWrapperNotStarted, and ErrStdinClosed when stdin never
// reached the command.
func (e *WrapperError) Unwrap() []error {
	if e.noStdin() {
		return []error{ErrWrapperNotStarted, ErrStdinClosed}
	}
	return []error{ErrWrapperNotStarted}
}
