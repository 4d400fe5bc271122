package engine

// Running a step's command on its hosts (probe, execute, simulate) and
// turning the results into the step's env and the journal's events.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

func (s *Session) render(st *Step, c *Command) (string, error) {
	if s.edited != "" {
		return s.edited, nil
	}
	if st.Kind == KindFix && s.confirmed != "" {
		return s.confirmed, nil
	}
	if st.ForEach != "" {
		return c.Cmd, nil // one command per item: probeEach renders them
	}
	env := s.env(st)
	t, err := ParseTemplate(c.Cmd, env)
	if err != nil {
		return "", fmt.Errorf("step %s: command: %w", st.ID, err)
	}
	return t.Render(env)
}

func (s *Session) display(st *Step, c *Command) (string, error) {
	if st.Kind == KindFix && len(c.Input) > 0 && len(s.inputs) == 0 && s.edited == "" {
		// Inputs not given yet: every value that is known is rendered; the
		// inputs stay as {{ input.x }} until RenderFix fills them.
		return s.mask(s.renderKnown(st, c.Cmd)), nil
	}
	cmd, err := s.render(st, c)
	return s.mask(cmd), err
}

// tailWriter keeps the last max bytes written to it and forwards everything.
type tailWriter struct {
	max  int
	buf  []byte
	fwd  func(p []byte)
	full int64
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.full += int64(len(p))
	if w.fwd != nil {
		w.fwd(p)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

// probe runs a command on every host of its role, concurrently, and returns
// results in host order. Transport errors are in HostResult.Err.
func (s *Session) probe(ctx context.Context, st *Step, c *Command) ([]HostResult, bool) {
	if st.ForEach != "" && s.edited == "" {
		return s.probeEach(ctx, st, c)
	}
	cmd, err := s.render(st, c)
	if err != nil {
		_ = s.fail(st, err)
		return nil, false
	}
	results := s.runHosts(ctx, st, s.hosts(c.On), cmd, c, s.edited != "")
	return s.withKept(st, c, results), true
}

// runHosts runs cmd on hosts concurrently and returns their results in
// host order. Every command event goes out before any host starts: a fast
// host's result must not land between the command events of the others.
func (s *Session) runHosts(ctx context.Context, st *Step, hosts []Host, cmd string, c *Command, edited bool) []HostResult {
	for _, h := range hosts {
		s.emit(Event{Type: EvCommand, Step: st.ID, Host: h.Name, Command: cmd, Edited: edited, Sudo: c.Sudo})
	}
	results := make([]HostResult, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runOne(ctx, st, h, CommandRequest{Step: st.ID, Script: cmd, Sudo: c.Sudo, Timeout: c.Timeout})
		}()
	}
	wg.Wait()
	return results
}

func (s *Session) runOne(ctx context.Context, st *Step, h Host, req CommandRequest) HostResult {
	// Output events are masked as a stream (streammask.go): a secret split
	// across two chunks is still masked.
	secrets := func() []string { return s.secrets }
	mo := &streamMask{mask: s.mask, secrets: secrets, emit: func(d string) {
		s.emit(Event{Type: EvOutput, Step: st.ID, Host: h.Name, Stream: "stdout", Data: d})
	}}
	me := &streamMask{mask: s.mask, secrets: secrets, emit: func(d string) {
		s.emit(Event{Type: EvOutput, Step: st.ID, Host: h.Name, Stream: "stderr", Data: d})
	}}
	out := &tailWriter{max: s.opts.MaxOutput, fwd: mo.Write}
	errw := &tailWriter{max: s.opts.MaxOutput, fwd: me.Write}
	res, err := s.opts.Executor.Run(ctx, h, req, out, errw)
	mo.Flush()
	me.Flush()
	hr := HostResult{Host: h.Name, Exit: res.Exit, Signal: res.Signal, TimedOut: res.TimedOut, Duration: res.Duration,
		Stdout: s.mask(string(out.buf)), Stderr: s.mask(string(errw.buf))}
	if err != nil {
		hr.Err, hr.Cause = err.Error(), err
		hr.Exit = -1
	}
	// Captures read the masked output, as stdout does: expressions decide on
	// what the operator sees, and a secret a probe echoes never becomes a value.
	hr.Captures = s.captureValues(st, hr.Stdout)
	e := Event{Type: EvResult, Step: st.ID, Host: h.Name, Signal: res.Signal, TimedOut: res.TimedOut,
		Duration: res.Duration.Seconds(), Captures: hr.Captures, Error: hr.Err,
		Bytes: out.full + errw.full, Truncated: out.full > int64(out.max) || errw.full > int64(errw.max)}
	if err == nil {
		exit := res.Exit
		e.Exit = &exit
	}
	s.emit(e)
	return hr
}

// resultEnv is the probe part of an expression env. For group targets exit
// is the largest exit code (0 only when every host succeeded), stdout and
// stderr are concatenated, and captures come from the first host that has them.
func resultEnv(env Env, results []HostResult, st *Step) {
	exit := 0
	var stdout, stderr strings.Builder
	caps := map[string]any{}
	for _, n := range captureNames(st) {
		caps[n] = nil // did not match (on any host)
	}
	for _, c := range st.Capture {
		if c.Kind != CaptureFirst {
			caps[c.Name] = CaptureValue(c, "")
		}
	}
	list := make([]any, len(results))
	var dur time.Duration
	signal := ""
	timedOut := false
	for i, r := range results {
		timedOut = timedOut || r.TimedOut
		if r.Exit > exit || r.Exit < 0 && exit == 0 {
			exit = r.Exit
		}
		if r.Signal != "" {
			signal = r.Signal
		}
		stdout.WriteString(r.Stdout)
		stderr.WriteString(r.Stderr)
		dur = max(dur, r.Duration)
		m := map[string]any{"host": r.Host, "exit": r.Exit, "stdout": r.Stdout, "stderr": r.Stderr, "signal": r.Signal,
			"timed_out": r.TimedOut, "error": r.Err}
		if r.Item != nil {
			m["item"] = r.Item
		}
		for _, n := range captureNames(st) {
			m[n] = nil
		}
		for k, raw := range r.Captures {
			v := CaptureValue(captureByName(st, k), raw)
			m[k] = v
			if cur, ok := caps[k]; !ok || cur == nil || emptyCapture(cur) && !emptyCapture(v) {
				caps[k] = v
			}
		}
		list[i] = m
	}
	env["exit"] = exit
	env["stdout"] = stdout.String()
	env["stderr"] = stderr.String()
	env["signal"] = signal
	env["timed_out"] = timedOut
	env["duration"] = dur.Seconds()
	env["results"] = list
	env["captures"] = caps
	for k, v := range caps {
		env[k] = v
	}
}

func (s *Session) record(st *Step, results []HostResult, extra map[string]any) {
	m := map[string]any{}
	env := Env{}
	resultEnv(env, results, st)
	for _, k := range []string{"exit", "stdout", "stderr", "signal", "timed_out", "duration", "results"} {
		m[k] = env[k]
	}
	for k, v := range env["captures"].(map[string]any) {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	s.steps[st.ID] = m
}

func (s *Session) execute(ctx context.Context, st *Step, c *Command) error {
	results, ok := s.probe(ctx, st, c)
	if !ok {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.record(st, results, nil)
	if err := transportErrors(results); err != nil {
		return s.transportFailure(st, err)
	}
	if err := brokenProbe(st, results); err != nil {
		return s.fail(st, err)
	}
	env := s.env(st)
	resultEnv(env, results, st)
	return s.decide(st, env)
}

// transportErrors keeps each failed host's error value (TransportErrors),
// so drivers decide with errors.Is/As, never by the text.
func transportErrors(results []HostResult) error {
	var errs TransportErrors
	for _, r := range results {
		if r.Err == "" {
			continue
		}
		cause := r.Cause
		if cause == nil {
			cause = errors.New(r.Err)
		}
		errs = append(errs, &TransportError{Host: Host{Name: r.Host}, Err: cause})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (s *Session) transportFailure(st *Step, err error) error {
	msg := err.Error()
	s.emit(Event{Type: EvError, Step: st.ID, Error: msg})
	if st.OnError != "" {
		s.route(st, &Decision{Next: st.OnError, Expr: "on_error", By: "on_error", Explain: "transport failure → " + s.label(st.OnError)})
		return nil
	}
	s.pending = &Prompt{Kind: PromptError, Step: st, Err: err, Command: s.st.visit.Command, Hosts: s.promptHosts(st)}
	return nil
}

// simulate records what a fix or collect would do, without doing it (dry run).
func (s *Session) simulate(ctx context.Context, st *Step) error {
	var what string
	switch st.Kind {
	case KindFix:
		cmd, err := s.render(st, st.Fix)
		if err != nil {
			return s.fail(st, err)
		}
		// One event per host, with the exact command it would have been sent.
		for _, h := range s.hosts(st.Fix.On) {
			s.emit(Event{Type: EvSimulated, Step: st.ID, Host: h.Name, Command: cmd, Sudo: st.Fix.Sudo,
				Text: "would run on " + h.Name + ": " + cmd})
		}
	case KindCollect:
		var parts []string
		for _, it := range st.Collect {
			if len(it.Files) > 0 {
				parts = append(parts, "files "+strings.Join(it.Files, " ")+" from "+it.On)
			} else {
				parts = append(parts, "output of `"+it.Cmd+"` on "+it.On)
			}
		}
		what = "would collect " + strings.Join(parts, "; ")
	}
	if what != "" {
		s.emit(Event{Type: EvSimulated, Step: st.ID, Text: what})
	}
	next := st.Next
	expr := "next"
	if next == "" {
		next, expr = st.Else, "else"
	}
	if next == "" && len(st.Branches) > 0 {
		next, expr = st.Branches[0].Goto, st.Branches[0].If
	}
	d := &Decision{Next: next, Expr: expr, By: "auto", Explain: "simulated (dry run) → " + s.label(next)}
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain})
	return nil
}
