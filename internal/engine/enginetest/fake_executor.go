// Package enginetest provides a scripted Executor for tests of the engine and
// its drivers. Unexpected commands fail loudly, as in lazygit's fake runner.
package enginetest

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Rule answers commands whose script matches Match (a regular expression)
// on Host ("" for any host). Times > 0 limits how often it answers; the
// next matching rule takes over after that, so a test can script "fails
// twice, then succeeds".
type Rule struct {
	Host   string
	Match  string
	Stdout string
	Stderr string
	Exit   int
	Signal string
	// TimedOut: the command was cut off by its timeout (exit -1).
	TimedOut bool
	Err      error         // a transport failure instead of a result
	Hang     bool          // block until the context ends
	Delay    time.Duration // (real) delay before answering
	Times    int

	re   *regexp.Regexp
	used int
}

// Call is one command the fake received.
type Call struct {
	Host   string
	Script string
	Sudo   bool
}

// Fake is a scripted engine.Executor.
type Fake struct {
	mu    sync.Mutex
	rules []*Rule
	calls []Call
	// Files served by Fetch, by host then path.
	Files map[string]map[string]string
	// Unexpected is called for a command no rule matches (default: the call
	// returns an error naming the command, which fails the session loudly).
	Unexpected func(c Call)
}

var _ engine.Executor = (*Fake)(nil)

// New returns a fake with the given rules.
func New(rules ...Rule) *Fake {
	f := &Fake{}
	for _, r := range rules {
		f.Add(r)
	}
	return f
}

// Add appends a rule.
func (f *Fake) Add(r Rule) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.re = regexp.MustCompile(r.Match)
	f.rules = append(f.rules, &r)
	return f
}

// Calls returns every command received, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Ran reports whether any received command matched the pattern.
func (f *Fake) Ran(pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, c := range f.Calls() {
		if re.MatchString(c.Script) {
			return true
		}
	}
	return false
}

func (f *Fake) match(h engine.Host, script string) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Host: h.Name, Script: script})
	for _, r := range f.rules {
		if r.Host != "" && r.Host != h.Name {
			continue
		}
		if r.Times > 0 && r.used >= r.Times {
			continue
		}
		if r.re.MatchString(script) {
			r.used++
			return r
		}
	}
	return nil
}

// Run implements engine.Executor.
func (f *Fake) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	r := f.match(h, req.Script)
	if r == nil {
		c := Call{Host: h.Name, Script: req.Script, Sudo: req.Sudo}
		if f.Unexpected != nil {
			f.Unexpected(c)
		}
		return engine.CommandResult{Exit: -1}, fmt.Errorf("fake executor: unexpected command on %s: %s", h.Name, req.Script)
	}
	if r.Delay > 0 {
		t := time.NewTimer(r.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return engine.CommandResult{Exit: -1}, ctx.Err()
		}
	}
	if r.Hang {
		<-ctx.Done()
		return engine.CommandResult{Exit: -1}, ctx.Err()
	}
	if r.Err != nil {
		return engine.CommandResult{Exit: -1}, r.Err
	}
	io.WriteString(stdout, r.Stdout)
	io.WriteString(stderr, r.Stderr)
	exit := r.Exit
	if r.Signal != "" || r.TimedOut {
		exit = -1
	}
	return engine.CommandResult{Exit: exit, Signal: r.Signal, TimedOut: r.TimedOut, Duration: r.Delay}, nil
}

// Fetch implements engine.Executor over Files, matching globs by prefix/suffix.
func (f *Fake) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	files := f.Files[h.Name]
	for _, path := range engine.SortedKeys(files) {
		for _, g := range req.Globs {
			if ok, _ := globMatch(g, path); ok {
				data := files[path]
				rf := engine.RemoteFile{Path: path, Size: int64(len(data)), ModTime: time.Unix(0, 0).UTC(), Mode: 0o644}
				if req.MaxBytes > 0 && int64(len(data)) > req.MaxBytes {
					rf.Offset = int64(len(data)) - req.MaxBytes
					data = data[rf.Offset:]
				}
				if err := c.File(ctx, h, req.Step, rf, strings.NewReader(data)); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

func globMatch(pattern, name string) (bool, error) {
	return pathMatch(pattern, name)
}
