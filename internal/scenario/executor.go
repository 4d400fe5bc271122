package scenario

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// ErrDropped is the transport failure of a command scripted with `drop: true`.
var ErrDropped = fmt.Errorf("connection lost (simulated)")

// Executor runs a scenario in-process: no sockets, for fast tests.
type Executor struct {
	R *Responder
	// Now is the simulated hosts' clock (default time.Now).
	Now func() time.Time
	// Sleep makes delays real when true; tests leave it off.
	Sleep bool
}

var _ engine.Executor = (*Executor)(nil)

// NewExecutor simulates s in-process.
func NewExecutor(s *Scenario) *Executor { return &Executor{R: NewResponder(s)} }

// Run implements engine.Executor.
func (e *Executor) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	c := e.R.Respond(h.Name, req.Script)
	if c == nil {
		fmt.Fprintf(stderr, "sh: simulated host %s has no answer for: %s\n", h.Name, req.Script)
		return engine.CommandResult{Exit: 127}, nil
	}
	if c.Hang {
		<-ctx.Done()
		return engine.CommandResult{Exit: -1}, ctx.Err()
	}
	if c.Delay > 0 && e.Sleep {
		t := time.NewTimer(c.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return engine.CommandResult{Exit: -1}, ctx.Err()
		}
	}
	if c.Drop {
		return engine.CommandResult{Exit: -1}, ErrDropped
	}
	io.WriteString(stdout, c.Stdout)
	io.WriteString(stderr, c.Stderr)
	return engine.CommandResult{Exit: c.Exit, Duration: c.Delay}, nil
}

// Fetch implements engine.Executor over the scenario's files.
func (e *Executor) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, col engine.Collector) error {
	host := e.R.s.Hosts[h.Name]
	if host == nil {
		return fmt.Errorf("simulated host %s does not exist", h.Name)
	}
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	for _, p := range engine.SortedKeys(host.Files) {
		if !MatchAny(req.Globs, p) {
			continue
		}
		f := host.Files[p]
		rf := f.Remote(p, now)
		if f.Link != "" {
			col.Skipped(h, req.Step, rf, "skipped", "symbolic link to "+f.Link+" (not followed)")
			continue
		}
		if req.Since > 0 && now.Sub(rf.ModTime) > req.Since {
			continue
		}
		data := f.Bytes()
		if req.MaxBytes > 0 && int64(len(data)) > req.MaxBytes {
			rf.Offset = int64(len(data)) - req.MaxBytes
			data = data[rf.Offset:]
		}
		if err := col.File(ctx, h, req.Step, rf, strings.NewReader(string(data))); err != nil {
			return err
		}
	}
	return nil
}

// MatchAny reports whether p matches one of the globs (path.Match syntax).
func MatchAny(globs []string, p string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}

// Remote describes the file as a remote host would.
func (f *File) Remote(p string, now time.Time) engine.RemoteFile {
	mode := fs.FileMode(f.Mode)
	if mode == 0 {
		mode = 0o644
	}
	if f.Link != "" {
		mode |= fs.ModeSymlink
	}
	return engine.RemoteFile{Path: p, Size: int64(len(f.Bytes())), ModTime: now.Add(-f.Age).Truncate(time.Second), Mode: mode, Link: f.Link}
}

// Bytes is the file's content: Content, or Size bytes of generated log lines.
func (f *File) Bytes() []byte {
	if f.Size <= 0 {
		return []byte(f.Content)
	}
	var b strings.Builder
	b.Grow(int(f.Size))
	for i := 0; b.Len() < int(f.Size); i++ {
		fmt.Fprintf(&b, "2026-11-28 03:%02d:%02d,%03d INFO  simulated log line %d\n", (i/60)%60, i%60, i%1000, i)
	}
	return []byte(b.String()[:f.Size])
}
