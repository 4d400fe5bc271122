package engine

// Timed waits: until a time of day ("wait until 00:00 the next day") or for
// a computed duration, on the session clock, so scenarios and tests can
// simulate them. The target is worked out from when the step was entered,
// which the journal records: a session resumed mid-wait waits for the same
// moment, not a new one.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// EvWaitUntil says when a timed wait ends (Text: RFC 3339).
const EvWaitUntil EventType = "wait.until"

var timeOfDayRE = regexp.MustCompile(`^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$`)

// waitTarget is when a timed wait ends: the next `at` time of day after the
// step was entered (its own time zone: the session clock's), the time an
// `at` expression gives, or the entry plus the `for` duration.
func (s *Session) waitTarget(st *Step) (time.Time, error) {
	w := st.Wait
	start := s.st.visit.Started
	env := s.env(st)
	if w.At != "" {
		if m := timeOfDayRE.FindStringSubmatch(w.At); m != nil {
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			sec := 0
			if m[3] != "" {
				sec, _ = strconv.Atoi(m[3])
			}
			t := time.Date(start.Year(), start.Month(), start.Day(), h, mi, sec, 0, start.Location())
			if !t.After(start) {
				t = t.AddDate(0, 0, 1)
			}
			return t, nil
		}
		v, err := EvalExpr(w.At, env)
		if err != nil {
			return time.Time{}, &ExprError{Expr: w.At, Reason: err.Error()}
		}
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			if t, err := parseTimeText(x); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("wait.at %q gave %v (%T): want a time, e.g. date(params.alarm_time) + duration(\"24h\"), or HH:MM", w.At, v, v)
	}
	v, err := EvalExpr(w.For, env)
	if err != nil {
		return time.Time{}, &ExprError{Expr: w.For, Reason: err.Error()}
	}
	var d time.Duration
	switch x := v.(type) {
	case time.Duration:
		d = x
	case int:
		d = time.Duration(x) * time.Second
	case int64:
		d = time.Duration(x) * time.Second
	case float64:
		d = time.Duration(x * float64(time.Second))
	case string:
		if d, err = time.ParseDuration(x); err != nil {
			return time.Time{}, fmt.Errorf("wait.for %q gave %q: not a duration (e.g. 90s, 10m)", w.For, x)
		}
	default:
		return time.Time{}, fmt.Errorf("wait.for %q gave %v (%T): want a duration (duration(\"10m\"), seconds, or \"10m\")", w.For, v, v)
	}
	if d < 0 {
		d = 0
	}
	return start.Add(d), nil
}

// timedWait sleeps until the wait's target; a probe, if the wait has one,
// is then polled as usual. It reports whether the step goes on to polling.
func (s *Session) timedWait(ctx context.Context, st *Step) (poll bool, err error) {
	target, err := s.waitTarget(st)
	if err != nil {
		return false, s.fail(st, err)
	}
	s.emit(Event{Type: EvWaitUntil, Step: st.ID, Text: target.Format(time.RFC3339)})
	if !s.opts.DryRun {
		if d := target.Sub(s.opts.Clock.Now()); d > 0 {
			if err := s.opts.Clock.Sleep(ctx, d); err != nil {
				return false, err
			}
		}
	}
	if st.Wait.Run != nil {
		return true, nil
	}
	// The visit is satisfied by the decision that follows its wait.until
	// (fold.go).
	elapsed := s.opts.Clock.Now().Sub(s.st.visit.Started)
	s.record(st, nil, map[string]any{"satisfied": true, "polls": 0, "elapsed": elapsed.Seconds()})
	env := s.waitEnv(st, nil, 0, elapsed)
	env["satisfied"] = true
	return false, s.decide(st, env)
}

// timedWait checks a wait with `at` or `for`: one of them, and a probe
// (with until and timeout) or none. It reports whether w is a timed wait.
func (l *loader) timedWait(w *Wait) bool {
	if w.At == "" && w.For == "" {
		return false
	}
	if w.At != "" && w.For != "" {
		l.errf(w.ForPos, "wait until a time (`at`) or for a duration (`for`)", "wait has both at and for")
	}
	if w.Run != nil || w.Until != "" {
		if w.Run == nil || w.Until == "" || w.Timeout == 0 {
			l.errf(w.Pos, "after the time, a probe polls as usual: give `run`, `until` and `timeout`, or none of them", "timed wait with a probe needs run, until and timeout")
		}
		if w.Every <= 0 {
			l.errf(w.Pos, "", "wait.every must be positive")
		}
	}
	return true
}

// timedWaitExprs checks the at and for expressions (a time of day is no expression).
func (l *linter) timedWaitExprs(st *Step) {
	w := st.Wait
	if w.At != "" && !timeOfDayRE.MatchString(w.At) {
		if looksLikeClock(w.At) {
			l.errf(w.AtPos, "a time of day is HH:MM or HH:MM:SS, 00:00 to 23:59", "wait.at %q is not a time of day", w.At)
			return
		}
		l.expr(st, w.At, w.AtPos, l.baseEnv(st), "at")
	}
	if w.For != "" {
		l.expr(st, w.For, w.ForPos, l.baseEnv(st), "for")
	}
}

var clockish = regexp.MustCompile(`^\d+:\d+(:\d+)?$`)

func looksLikeClock(s string) bool { return clockish.MatchString(s) }
