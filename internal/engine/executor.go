package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Host is one concrete machine a target role is bound to.
type Host struct {
	Role string `json:"role"`
	// Name is the host as the operator gave it: "local", "user@host[:port]",
	// an ssh_config alias, or an inventory's host name. It is what every
	// surface shows and what results, answers and paths are keyed by.
	Name string `json:"name"`
	// Addr, when set, is where executors connect instead of Name:
	// [user@]address[:port], from an inventory's ansible_host, ansible_port
	// and ansible_user.
	Addr string `json:"addr,omitempty"`
}

func (h Host) String() string { return h.Name }

// Dial is what executors resolve: Addr, or Name when there is none.
func (h Host) Dial() string {
	if h.Addr != "" {
		return h.Addr
	}
	return h.Name
}

// IsLocal reports whether the host is this machine.
func (h Host) IsLocal() bool { return h.Dial() == "local" }

// Address is the host part of Name: no user, no port (ParseHostSpec).
func (h Host) Address() string {
	if hs, err := ParseHostSpec(h.Name); err == nil {
		return hs.Host
	}
	return h.Name
}

// User is the user part of Name, if any (ParseHostSpec).
func (h Host) User() string {
	if hs, err := ParseHostSpec(h.Name); err == nil {
		return hs.User
	}
	return ""
}

// CommandRequest is one command to run on one host.
type CommandRequest struct {
	Step    string        // for logs and transcripts
	Script  string        // shell script; executors run it with `sh -c`
	Sudo    bool          // run through `sudo -n`
	Timeout time.Duration // 0: no limit beyond the context
	Stdin   []byte        // e.g. a sudo password; never logged
}

// CommandResult is how a command that ran ended. A Go error from Run means
// the transport failed instead and there is no result.
type CommandResult struct {
	Exit     int           `json:"exit"`             // exit status; -1 when there is none
	Signal   string        `json:"signal,omitempty"` // set when killed by a signal, e.g. "KILL"
	TimedOut bool          `json:"timed_out,omitempty"`
	Duration time.Duration `json:"duration"`
	// Timeout is the limit a TimedOut command ran under (the session sets
	// it for collect commands, so sinks can say "timed out after 30s").
	Timeout time.Duration `json:"-"`
}

// FetchRequest asks for files by glob, for collect steps.
type FetchRequest struct {
	Step     string
	Globs    []string
	Since    time.Duration // only files modified within this window (remote clock)
	MaxBytes int64         // per file; larger files deliver only their tail
	Sudo     bool
}

// RemoteFile describes one matched file. Path is the remote name, untrusted.
type RemoteFile struct {
	Path    string      `json:"path"`
	Size    int64       `json:"size"`
	ModTime time.Time   `json:"mtime"`
	Mode    fs.FileMode `json:"mode"`
	Link    string      `json:"link,omitempty"`   // symlink target: recorded, never followed
	Offset  int64       `json:"offset,omitempty"` // > 0 when only the tail from Offset is delivered
}

// Truncated reports whether only the file's tail is delivered.
func (f RemoteFile) Truncated() bool { return f.Offset > 0 }

// Collector receives what collect steps gather. Bundles implement it.
type Collector interface {
	// File receives one matched file; r yields its bytes (the tail when f.Truncated()).
	File(ctx context.Context, h Host, step string, f RemoteFile, r io.Reader) error
	// Skipped records a matched file that was not read, and why.
	Skipped(h Host, step string, f RemoteFile, status, reason string)
	// Command returns where one collected command's output goes.
	Command(h Host, step, cmd string) CommandSink
}

// CommandSink receives a collected command's output, then how it ended.
type CommandSink interface {
	io.Writer
	Close(res CommandResult, err error) error
}

// Executor runs commands and fetches files on hosts. Exit codes are data;
// errors are transport failures (dial, auth, host key, lost connection).
type Executor interface {
	Run(ctx context.Context, h Host, req CommandRequest, stdout, stderr io.Writer) (CommandResult, error)
	Fetch(ctx context.Context, h Host, req FetchRequest, c Collector) error
}

// ErrNotSupported is returned by executors that cannot do what is asked.
var ErrNotSupported = errors.New("not supported by this executor")

// TransportError wraps an executor failure with the host it happened on.
type TransportError struct {
	Host Host
	Err  error
}

func (e *TransportError) Error() string {
	// An executor's error may already name the host: say it once.
	msg := fmt.Sprint(e.Err)
	if p := e.Host.Name + ": "; strings.HasPrefix(msg, p) {
		return msg
	}
	return fmt.Sprintf("%s: %s", e.Host, msg)
}
func (e *TransportError) Unwrap() error { return e.Err }

// TransportErrors are the transport failures of one probe, one per host.
// errors.Is/As look into every host's error.
type TransportErrors []*TransportError

func (e TransportErrors) Error() string {
	parts := make([]string, len(e))
	for i, x := range e {
		parts[i] = x.Error()
	}
	return strings.Join(parts, "; ")
}

func (e TransportErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, x := range e {
		out[i] = x
	}
	return out
}

// Transport error kinds. The engine names no transport: an executor's
// errors say what they are by implementing these optional methods
// (internal/ssh's errors do), and drivers ask with CanRetry, IsTimeout and
// IsAuthFailure, which look through every wrapped error.
//
//	Retryable() bool    false: trying again cannot help (a changed or revoked host key)
//	Timeout() bool      true: the host did not answer in time (net.Error, context deadline)
//	AuthFailure() bool  true: the host refused our credentials; re-authenticate, then retry

// CanRetry reports whether retrying err may help: false when any error in
// its tree says Retryable() == false.
func CanRetry(err error) bool {
	return err != nil && !anyError(err, func(e error) bool {
		r, ok := e.(interface{ Retryable() bool })
		return ok && !r.Retryable()
	})
}

// IsTimeout reports whether any error in err's tree is a timeout.
func IsTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || anyError(err, func(e error) bool {
		t, ok := e.(interface{ Timeout() bool })
		return ok && t.Timeout()
	})
}

// IsAuthFailure reports whether any error in err's tree is an authentication failure.
func IsAuthFailure(err error) bool {
	return anyError(err, func(e error) bool {
		a, ok := e.(interface{ AuthFailure() bool })
		return ok && a.AuthFailure()
	})
}

// anyError walks err's tree (Unwrap() error and Unwrap() []error), bounded.
func anyError(err error, f func(error) bool) bool {
	stack := []error{err}
	for n := 0; len(stack) > 0 && n < 1000; n++ {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if e == nil {
			continue
		}
		if f(e) {
			return true
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			stack = append(stack, u.Unwrap())
		case interface{ Unwrap() []error }:
			stack = append(stack, u.Unwrap()...)
		}
	}
	return false
}
