package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// visitCount is visits("step") in expressions: entries of the step (by id
// or ref) so far, the current one included.
func (s *Session) visitCount(idOrRef string) int {
	if st := s.rb.Step(idOrRef); st != nil {
		return s.st.visits[st.ID]
	}
	return 0
}

// showText fills in the {{ }} of text shown to people (a question,
// instructions, an end message). Values are not shell-quoted: the text is
// read, not run. Secrets are masked. When a value cannot be worked out the
// text is shown as written, with the reason, rather than hiding the step.
func (s *Session) showText(st *Step, src string) string {
	if !strings.Contains(src, "{{") {
		return src
	}
	env := s.env(st)
	t, err := ParseTemplate(src, env)
	if err == nil {
		var out string
		if out, err = t.RenderRaw(env); err == nil {
			return s.mask(out)
		}
	}
	return s.mask(src) + "\n\n(could not fill in: " + s.mask(err.Error()) + ")"
}

// collectWindow works out a collect item's globs and since, which may name
// params and earlier captures: a log file named after the alarm's date, or
// the ten minutes before the alarm (`since: "{{ ... }}"` gives a duration or
// a time; a time means "modified since then", by the session clock).
func (s *Session) collectWindow(st *Step, item *CollectItem) ([]string, time.Duration, error) {
	env := s.env(st)
	render := func(src, what string) (string, error) {
		if !strings.Contains(src, "{{") {
			return src, nil
		}
		t, err := ParseTemplate(src, env)
		if err != nil {
			return "", fmt.Errorf("step %s: collect %s: %w", st.ID, what, err)
		}
		out, err := t.RenderRaw(env)
		if err != nil {
			return "", fmt.Errorf("step %s: collect %s: %w", st.ID, what, err)
		}
		if strings.ContainsAny(out, "\x00\n\r") {
			return "", fmt.Errorf("step %s: collect %s %q: %w: contains NUL or a line break", st.ID, what, out, ErrUnsafeValue)
		}
		return out, nil
	}
	globs := make([]string, 0, len(item.Files))
	for _, g := range item.Files {
		out, err := render(g, "files")
		if err != nil {
			return nil, 0, err
		}
		if !strings.HasPrefix(out, "/") || strings.Contains("/"+out+"/", "/../") {
			return nil, 0, fmt.Errorf("step %s: collect files %q: must be an absolute path with no .. element", st.ID, out)
		}
		globs = append(globs, out)
	}
	since := item.Since
	if item.SinceSrc != "" {
		out, err := render(item.SinceSrc, "since")
		if err != nil {
			return nil, 0, err
		}
		if d, derr := ParseDuration(out); derr == nil {
			since = d
		} else if t, terr := parseTimeText(out); terr == nil {
			since = s.opts.Clock.Now().Sub(t)
			if since <= 0 {
				return nil, 0, fmt.Errorf("step %s: collect since %s is in the future", st.ID, out)
			}
		} else {
			return nil, 0, fmt.Errorf("step %s: collect since %q: neither a duration (10m) nor a time (2006-01-02 15:04:05)", st.ID, out)
		}
	}
	return globs, since, nil
}

// timeLayouts are the times `since` and time params accept.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02"}

func parseTimeText(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	// A time as expr prints it: 2026-11-28 03:02:00 +0000 UTC.
	if t, err := time.Parse("2006-01-02 15:04:05 -0700 MST", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// ItemName is the name a for_each step's item has in its command.
func (st *Step) ItemName() string {
	if st.As != "" {
		return st.As
	}
	return "item"
}

// probeEach runs a for_each step's probe once per item, in order, on every
// host of its role. Each command is announced with the item (EvCommand's
// Text: "slot 2 of 3: 7"), so the journal shows which item each output
// belongs to. An empty list runs nothing: branches see no results.
func (s *Session) probeEach(ctx context.Context, st *Step, c *Command) ([]HostResult, bool) {
	v, err := s.evalIn(st, st.ForEach)
	if err != nil {
		_ = s.fail(st, fmt.Errorf("step %s: for_each: %w", st.ID, err))
		return nil, false
	}
	items, ok := listItems(v)
	if !ok {
		_ = s.fail(st, fmt.Errorf("step %s: for_each %q gave %T, want a list", st.ID, st.ForEach, v))
		return nil, false
	}
	if len(items) > maxForEach {
		_ = s.fail(st, fmt.Errorf("step %s: for_each gave %d items, more than %d", st.ID, len(items), maxForEach))
		return nil, false
	}
	var results []HostResult
	for i, item := range items {
		env := s.env(st)
		env[st.ItemName()] = item
		t, err := ParseTemplate(c.Cmd, env)
		if err == nil {
			var cmd string
			if cmd, err = t.Render(env); err == nil {
				label := fmt.Sprintf("%s %d of %d: %s", st.ItemName(), i+1, len(items), s.mask(toString(item)))
				for _, h := range s.hosts(c.On) {
					if ctx.Err() != nil {
						return nil, false
					}
					s.emit(Event{Type: EvCommand, Step: st.ID, Host: h.Name, Command: cmd, Sudo: c.Sudo, Text: label, Item: item})
					r := s.runOne(ctx, st, h, CommandRequest{Step: st.ID, Script: cmd, Sudo: c.Sudo, Timeout: c.Timeout})
					r.Item = item
					results = append(results, r)
				}
				continue
			}
		}
		_ = s.fail(st, fmt.Errorf("step %s: command for %s %v: %w", st.ID, st.ItemName(), item, err))
		return nil, false
	}
	return results, true
}

// maxForEach bounds the items of one for_each step.
const maxForEach = 1000

// evalIn evaluates an expression in step st's env (before its probe runs).
func (s *Session) evalIn(st *Step, src string) (any, error) {
	return EvalExpr(src, s.env(st))
}
