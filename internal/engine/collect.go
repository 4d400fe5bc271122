package engine

// Collect steps: gathering files and command output into the bundle, and
// the collectors that count and report what was gathered.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

func (s *Session) collect(ctx context.Context, st *Step) error {
	col := s.opts.Collector
	if col == nil {
		col = discardCollector{}
	}
	cc := &countingCollector{Collector: col, s: s}
	col = cc
	for _, item := range st.Collect {
		for _, h := range s.hosts(item.On) {
			cc.startItem()
			if err := ctx.Err(); err != nil {
				return err
			}
			ictx, cancel := ctx, context.CancelFunc(func() {})
			if item.Timeout > 0 {
				ictx, cancel = context.WithTimeout(ctx, item.Timeout)
			}
			if len(item.Files) > 0 {
				globs, since, err := s.collectWindow(st, item)
				if err != nil {
					cancel()
					return s.fail(st, err)
				}
				err = s.opts.Executor.Fetch(ictx, h, FetchRequest{Step: st.ID, Globs: globs, Since: since, MaxBytes: item.MaxBytes, Sudo: item.Sudo}, col)
				if err != nil {
					// An unreachable host leaves an entry (and the event), so
					// the bundle says what it does not hold.
					status, why := "error", err.Error()
					if errors.Is(ictx.Err(), context.DeadlineExceeded) {
						status, why = "timeout", TimedOutText(item.Timeout)
					}
					col.Skipped(h, st.ID, RemoteFile{Path: strings.Join(globs, " ")}, status, why)
				} else {
					// A glob that matched nothing is a result too: the
					// operator and the bundle learn it, not only silence.
					for _, g := range cc.unmatched(globs) {
						why := "no file matched"
						if since > 0 {
							why += " (modified within " + shortDuration(since) + ")"
						}
						col.Skipped(h, st.ID, RemoteFile{Path: g}, "empty", why)
					}
				}
			} else {
				cmd, err := s.renderCollect(st, item)
				if err != nil {
					cancel()
					return s.fail(st, err)
				}
				sink := col.Command(h, st.ID, cmd)
				// The executor enforces the timeout and says TimedOut; a
				// deadline on its context too raced it, and the loser read
				// "context deadline exceeded".
				res, err := s.opts.Executor.Run(ctx, h, CommandRequest{Step: st.ID, Script: cmd, Sudo: item.Sudo, Timeout: item.Timeout}, sink, sink)
				if err == nil && res.TimedOut && res.Timeout == 0 {
					res.Timeout = item.Timeout
				}
				if cerr := sink.Close(res, err); cerr != nil && err == nil {
					err = cerr
				}
				status := "ok"
				e := Event{Type: EvCollect, Step: st.ID, Host: h.Name, Command: cmd}
				switch {
				case err != nil:
					status, e.Error = "error", err.Error()
				case res.TimedOut:
					status, e.Error, e.TimedOut = "timeout", TimedOutText(res.Timeout), true
					e.Duration = res.Duration.Seconds()
				default:
					exit := res.Exit
					e.Exit = &exit
				}
				e.Status = status
				cc.command(status, e.Error)
				s.emit(e)
			}
			cancel()
		}
	}
	d := &Decision{Next: st.Next, Expr: "next", By: "auto", Explain: cc.summary() + " → " + s.label(st.Next)}
	if st.Next == "" {
		return s.fail(st, fmt.Errorf("step %s: collect has no next", st.ID))
	}
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain})
	if s.opts.StepMode {
		// The operator sees what was collected before the walk goes on.
		s.pending = &Prompt{Kind: PromptDecided, Step: st, Decision: d, Hosts: s.collectHosts(st)}
	}
	return nil
}

// shortDuration: 20m, 1h30m, 45s (Duration.String says 20m0s).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// CollectPlan is what a collect step will gather, per host, in order:
// each file glob and each command (rendered, secrets masked).
func (s *Session) CollectPlan(st *Step) []CollectPlan {
	var out []CollectPlan
	if st == nil {
		return nil
	}
	for _, item := range st.Collect {
		for _, h := range s.hosts(item.On) {
			p := CollectPlan{Host: h, Files: item.Files, Since: item.Since, MaxBytes: item.MaxBytes}
			if len(item.Files) == 0 {
				cmd, err := s.renderCollect(st, item)
				p.Command = s.mask(cmd)
				if err != nil {
					p.Command, p.Err = item.Cmd, err.Error()
				}
			}
			out = append(out, p)
		}
	}
	return out
}

func (s *Session) renderCollect(st *Step, item *CollectItem) (string, error) {
	env := s.env(st)
	t, err := ParseTemplate(item.Cmd, env)
	if err != nil {
		return "", fmt.Errorf("step %s: collect: %w", st.ID, err)
	}
	return t.Render(env)
}

// discardCollector drops collected data (no bundle being written).
type discardCollector struct{}

func (discardCollector) File(ctx context.Context, h Host, step string, f RemoteFile, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discardCollector) Skipped(Host, string, RemoteFile, string, string) {}
func (discardCollector) Command(Host, string, string) CommandSink         { return discardSink{} }

type discardSink struct{}

func (discardSink) Write(p []byte) (int, error)      { return len(p), nil }
func (discardSink) Close(CommandResult, error) error { return nil }

// countingCollector emits a collect event per file so drivers show
// progress, reports bytes as they are read (Options.OnProgress), and keeps
// the paths one item matched so an empty glob is recorded.
type countingCollector struct {
	Collector
	s *Session

	mu       sync.Mutex
	matched  []string // paths the current item delivered or skipped
	files    int
	bytes    int64
	commands int
	skipped  int
	timeouts []string // TimedOutText of each collect command that timed out
}

func (c *countingCollector) command(status, why string) {
	c.mu.Lock()
	switch status {
	case "ok":
		c.commands++
	case "timeout":
		c.skipped++
		c.timeouts = append(c.timeouts, why)
	default:
		c.skipped++
	}
	c.mu.Unlock()
}

func (c *countingCollector) startItem() {
	c.mu.Lock()
	c.matched = c.matched[:0]
	c.mu.Unlock()
}

func (c *countingCollector) saw(path string) {
	c.mu.Lock()
	c.matched = append(c.matched, path)
	c.mu.Unlock()
}

// unmatched is the globs no delivered or skipped path of the current item
// matches (a glob path.Match cannot parse counts as matched: not our call).
func (c *countingCollector) unmatched(globs []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, g := range globs {
		hit := false
		for _, p := range c.matched {
			if ok, err := path.Match(g, p); ok || err != nil {
				hit = true
				break
			}
		}
		if !hit {
			out = append(out, g)
		}
	}
	return out
}

// summary: "collected 3 files (2.1 MiB), 1 skipped".
func (c *countingCollector) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("collected %d file", c.files)
	if c.files != 1 {
		s += "s"
	}
	s += " (" + FormatSize(c.bytes) + ")"
	if c.commands > 0 {
		s += fmt.Sprintf(", %d command output", c.commands)
		if c.commands != 1 {
			s += "s"
		}
	}
	if c.skipped > 0 {
		s += fmt.Sprintf(", %d not collected", c.skipped)
	}
	if len(c.timeouts) > 0 {
		// "(1 command timed out after 30s)", the same words as its entry.
		what := "command"
		if len(c.timeouts) > 1 {
			what += "s"
		}
		s += fmt.Sprintf(" (%d %s %s)", len(c.timeouts), what, strings.Join(slices.Compact(slices.Sorted(slices.Values(c.timeouts))), ", "))
	}
	return s
}

func (c *countingCollector) File(ctx context.Context, h Host, step string, f RemoteFile, r io.Reader) error {
	c.saw(f.Path)
	cr, rr := counted(r) // collect_count.go: keeps Seek, takes the collector's report
	if fn := c.s.opts.OnProgress; fn != nil {
		size := max(f.Size-f.Offset, 0)
		cr.progress = func(n int64) { fn(CollectProgress{Step: step, Host: h.Name, Path: f.Path, Read: n, Size: size}) }
	}
	err := c.Collector.File(ctx, h, step, f, rr)
	status := "ok"
	if f.Truncated() {
		status = "truncated"
	}
	e := Event{Type: EvCollect, Step: step, Host: h.Name, Path: f.Path, Bytes: cr.n, Status: status}
	if cr.rep {
		e.Status, e.Error, e.Bytes = cr.status, cr.reason, cr.stored
	}
	if err != nil {
		e.Status, e.Error = "error", err.Error()
	}
	c.mu.Lock()
	if err == nil {
		c.files++
		c.bytes += cr.n
	} else {
		c.skipped++
	}
	c.mu.Unlock()
	c.s.emit(e)
	return err
}

func (c *countingCollector) Skipped(h Host, step string, f RemoteFile, status, reason string) {
	c.saw(f.Path)
	c.mu.Lock()
	c.skipped++
	c.mu.Unlock()
	c.Collector.Skipped(h, step, f, status, reason)
	c.s.emit(Event{Type: EvCollect, Step: step, Host: h.Name, Path: f.Path, Status: status, Error: reason})
}
