package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const diskRunbook = `runbook: 1
id: disk
title: disk
targets: {host: {}}
steps:
  - id: check
    run: {on: host, cmd: "df"}
    capture: {used: '(\d*)%'}
    branches:
      - {if: '%s', goto: full}
    else: fine
  - id: full
    end: escalated
  - id: fine
    end: resolved
`

func advanceOnce(t *testing.T, rb *engine.Runbook, rules ...enginetest.Rule) *engine.Prompt {
	t.Helper()
	s, err := engine.NewSession(rb, engine.Options{Executor: enginetest.New(rules...), Targets: local("host")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A capture that did not match makes int(used) fail: that is a step error
// showing the expression and what it saw, never "false" (which used to end
// the run resolved).
func TestUnmatchedCaptureIsNotAnAnswer(t *testing.T) {
	rb := mustLoad(t, strings.Replace(diskRunbook, "%s", "int(used) >= 90", 1))
	p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Stdout: "df: no such file\n"})
	if p.Kind != engine.PromptError {
		t.Fatalf("got prompt %s at %s, want an error (the run must not end resolved)", p.Kind, p.Step.ID)
	}
	var ee *engine.ExprError
	if !errors.As(p.Err, &ee) {
		t.Fatalf("error %T %v, want *engine.ExprError", p.Err, p.Err)
	}
	if ee.Expr != "int(used) >= 90" || len(ee.Values) != 1 || ee.Values[0].Name != "used" || !ee.Values[0].Missing || !ee.Values[0].Capture {
		t.Errorf("ExprError %+v: want the expression and used=<no match>", ee)
	}
	for _, want := range []string{"int(used) >= 90", "used=<no match>", "did not match", "has(used)"} {
		if !strings.Contains(p.Err.Error(), want) {
			t.Errorf("error %q does not say %q", p.Err, want)
		}
	}
}

// An empty match is a value: has() is true, and converting it is an error
// that says the capture was empty.
func TestEmptyMatchIsNotNoMatch(t *testing.T) {
	rb := mustLoad(t, strings.Replace(diskRunbook, "%s", `has(used) && used == ""`, 1))
	if p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Stdout: "% used\n"}); p.Kind != engine.PromptEnd || p.Step.ID != "full" {
		t.Errorf("empty match: got %s at %s, want the end full", p.Kind, p.Step.ID)
	}
	if p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Stdout: "nothing\n"}); p.Kind != engine.PromptEnd || p.Step.ID != "fine" {
		t.Errorf("no match: got %s at %s, want the end fine", p.Kind, p.Step.ID)
	}
	rb = mustLoad(t, strings.Replace(diskRunbook, "%s", "int(used) >= 90", 1))
	p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Stdout: "% used\n"})
	if p.Kind != engine.PromptError || !strings.Contains(p.Err.Error(), "matched an empty string") {
		t.Errorf("int of an empty match: got %s %v, want an error saying it is empty", p.Kind, p.Err)
	}
	// A guarded conversion is the author's explicit choice: no match is false.
	rb = mustLoad(t, strings.Replace(diskRunbook, "%s", "has(used) && int(used) >= 90", 1))
	if p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Stdout: "nothing\n"}); p.Kind != engine.PromptEnd || p.Step.ID != "fine" {
		t.Errorf("guarded: got %s at %s, want the end fine", p.Kind, p.Step.ID)
	}
}

// Type errors and a non-boolean result are step errors too.
func TestExpressionTypeErrorIsNotFalse(t *testing.T) {
	for _, src := range []string{`used >= 90`, `exit + 1`, `steps["fine"].nothing > 1`} {
		rb, err := engine.Load("t.yaml", []byte(strings.Replace(diskRunbook, "%s", src, 1)))
		if err != nil {
			t.Fatal(err)
		}
		p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Stdout: "93%\n"})
		var ee *engine.ExprError
		if p.Kind != engine.PromptError || !errors.As(p.Err, &ee) {
			t.Errorf("%s: got %s %v, want an *ExprError", src, p.Kind, p.Err)
		}
	}
}

// Exit 126/127, a signal and a timeout are "the probe did not run
// properly", unless a branch names the case.
func TestBrokenProbeIsNotAnAnswer(t *testing.T) {
	rb := mustLoad(t, strings.Replace(diskRunbook, "%s", "exit != 0", 1))
	for _, tc := range []struct {
		rule engine.ProbeFailure
		r    enginetest.Rule
	}{
		{engine.ProbeNotFound, enginetest.Rule{Match: "^df$", Exit: 127, Stderr: "sh: df: not found\n"}},
		{engine.ProbeNotExecutable, enginetest.Rule{Match: "^df$", Exit: 126}},
		{engine.ProbeSignal, enginetest.Rule{Match: "^df$", Signal: "KILL"}},
		{engine.ProbeTimeout, enginetest.Rule{Match: "^df$", TimedOut: true}},
	} {
		p := advanceOnce(t, rb, tc.r)
		var pe *engine.ProbeError
		if p.Kind != engine.PromptError || !errors.As(p.Err, &pe) || pe.Failure != tc.rule || pe.Host != "local" {
			t.Errorf("%s: got %s %v, want a *ProbeError %s", tc.rule, p.Kind, p.Err, tc.rule)
		}
	}
	// A 127 that is not compared with exit does not name the case.
	for _, cond := range []string{"exit != 0 && len(stdout) < 127", "exit != 0 || 127 > 1", "exit < 127"} {
		rb := mustLoad(t, strings.Replace(diskRunbook, "%s", cond, 1))
		var pe *engine.ProbeError
		if p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Exit: 127}); p.Kind != engine.PromptError || !errors.As(p.Err, &pe) {
			t.Errorf("%s: exit 127 routed as an answer (%s %v)", cond, p.Kind, p.Err)
		}
	}
	for _, tc := range []struct {
		cond string
		r    enginetest.Rule
	}{
		{"exit == 127", enginetest.Rule{Match: "^df$", Exit: 127}},
		{"127 == exit", enginetest.Rule{Match: "^df$", Exit: 127}},
		{"exit in [126, 127]", enginetest.Rule{Match: "^df$", Exit: 126}},
		{"exit >= 126", enginetest.Rule{Match: "^df$", Exit: 127}},
		{`signal == "KILL"`, enginetest.Rule{Match: "^df$", Signal: "KILL"}},
		{"timed_out", enginetest.Rule{Match: "^df$", TimedOut: true}},
	} {
		rb := mustLoad(t, strings.Replace(diskRunbook, "%s", tc.cond, 1))
		if p := advanceOnce(t, rb, tc.r); p.Kind != engine.PromptEnd || p.Step.ID != "full" {
			t.Errorf("%s names the case: got %s at %s %v, want the end full", tc.cond, p.Kind, p.Step.ID, p.Err)
		}
	}
}

// A wait whose until cannot be evaluated stops, rather than polling on as
// "not satisfied" until its timeout.
func TestWaitUntilErrorStops(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: w
title: w
targets: {host: {}}
steps:
  - id: w
    wait: {every: 10s, timeout: 1m, run: {on: host, cmd: "status"}, until: "int(ready) == 3"}
    capture: {ready: 'ready=(\d+)'}
    branches: [{if: satisfied, goto: ok}]
    else: ko
  - id: ok
    end: resolved
  - id: ko
    end: escalated
`)
	fake := enginetest.New(enginetest.Rule{Match: "^status$", Stdout: "starting\n"})
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("host"), Clock: &engine.SteppedClock{}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ee *engine.ExprError
	if p.Kind != engine.PromptError || !errors.As(p.Err, &ee) {
		t.Fatalf("got %s %v, want an *ExprError", p.Kind, p.Err)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d polls, want 1: the wait stops at the first error", n)
	}
}

type hostKeyErr struct{}

func (hostKeyErr) Error() string   { return "host key changed" }
func (hostKeyErr) Retryable() bool { return false }

// The executor's error value reaches the driver: errors.As finds it through
// the engine's TransportErrors, and the kind helpers read it.
func TestTransportErrorKeepsItsType(t *testing.T) {
	rb := mustLoad(t, strings.Replace(diskRunbook, "%s", "exit != 0", 1))
	p := advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Err: fmt.Errorf("dial: %w", hostKeyErr{})})
	var hk hostKeyErr
	var te *engine.TransportError
	if p.Kind != engine.PromptError || !errors.As(p.Err, &hk) || !errors.As(p.Err, &te) || te.Host.Name != "local" {
		t.Fatalf("got %s %T %v, want the executor's error inside a TransportError", p.Kind, p.Err, p.Err)
	}
	if engine.CanRetry(p.Err) || engine.IsTimeout(p.Err) || engine.IsAuthFailure(p.Err) {
		t.Errorf("kinds: CanRetry %v IsTimeout %v IsAuthFailure %v, want false false false", engine.CanRetry(p.Err), engine.IsTimeout(p.Err), engine.IsAuthFailure(p.Err))
	}
	p = advanceOnce(t, rb, enginetest.Rule{Match: "^df$", Err: context.DeadlineExceeded})
	if !engine.IsTimeout(p.Err) || !engine.CanRetry(p.Err) {
		t.Errorf("a deadline: IsTimeout %v CanRetry %v, want true true", engine.IsTimeout(p.Err), engine.CanRetry(p.Err))
	}
}

// Lint warns where an expression converts a capture with no has() guard,
// and where it compares a capture with "" (which does not test "no match").
func TestLintWarnsUnguardedConversion(t *testing.T) {
	for _, tc := range []struct {
		cond, want string
	}{
		{"int(used) >= 90", "int(used) converts a capture that may not match"},
		{`float(steps["check"].used) > 1`, `float(steps.check.used) converts a capture`},
		{`used != "" && int(used) > 1`, `comparing capture used with ""`},
		{"has(used) && int(used) >= 90", ""},
		{"used != nil && int(used) >= 90", ""},
		{"exit == 0", ""},
	} {
		rb, err := engine.Load("t.yaml", []byte(strings.Replace(diskRunbook, "%s", tc.cond, 1)))
		if err != nil {
			t.Fatal(err)
		}
		ds := engine.Lint(rb)
		if ds.HasErrors() {
			t.Fatalf("%s: %v", tc.cond, ds)
		}
		got := ds.Error()
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, "warning: if: "+tc.want) {
			t.Errorf("%s: lint says %q, want a warning %q", tc.cond, got, tc.want)
		}
	}
}

// A template never renders "no value" as ”: a fix built from a capture
// that did not match stops with an error.
func TestTemplateRefusesNoValue(t *testing.T) {
	_, err := engine.EvalExpr("x", engine.Env{"x": nil})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := engine.ParseTemplate("rm -- {{ x }}", engine.Env{"x": ""})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tmpl.Render(engine.Env{"x": nil}); err == nil {
		t.Fatalf("rendered %q from no value", out)
	}
}
