package auto_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const pingRunbook = `runbook: 1
id: ping
title: ping
targets: {h: {}}
steps:
  - id: ping
    title: Is the peer reachable?
    run: {on: h, cmd: "ping -c 1 peer"}
    capture: {loss: '(\d+)% packet loss'}
    branches:
      - {if: "exit == 0 && int(loss) == 0", goto: ok}
    else: network-admin
  - id: ok
    end: resolved
  - id: network-admin
    end: escalated
    message: Contact the network administrator.
`

func runPing(t *testing.T, dry bool, r enginetest.Rule) *auto.Result {
	t.Helper()
	rb, err := engine.Load("ping.yaml", []byte(pingRunbook))
	if err != nil {
		t.Fatal(err)
	}
	r.Match = "^ping -c 1 peer$"
	s, err := engine.NewSession(rb, engine.Options{Executor: enginetest.New(r), DryRun: dry,
		Targets: map[string][]engine.Host{"h": {{Role: "h", Name: "local"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return auto.Run(context.Background(), s, auto.Policy{DryRun: dry})
}

// A dry run on a box without ping used to go to "Contact the network
// administrator" (exit 3). The probe did not run: needs a human, exit 4,
// and the JSON says why.
func TestAutoStopsOnProbeThatDidNotRun(t *testing.T) {
	res := runPing(t, true, enginetest.Rule{Exit: 127, Stderr: "sh: 1: ping: not found\n"})
	if res.Outcome != auto.NeedsHuman || res.ExitCode != 4 {
		t.Fatalf("outcome %s (exit %d), path %v, errors %v: want needs-human (4)", res.Outcome, res.ExitCode, steps(res), res.Errors)
	}
	if res.Stopped == nil || res.Stopped.Step != "ping" || res.Stopped.Kind != "probe" ||
		!strings.Contains(res.Stopped.Reason, "did not run properly") || !strings.Contains(res.Stopped.Reason, "exit 127") {
		t.Fatalf("stopped %+v: want the probe step, kind probe, and why", res.Stopped)
	}
	js, _ := json.Marshal(res)
	if !strings.Contains(string(js), `"kind":"probe"`) || !strings.Contains(string(js), "ping: not found") {
		t.Errorf("JSON does not say why: %s", js)
	}
}

// An unmatched capture converted with int() is an expression stop with the
// values it saw, not an "else".
func TestAutoStopsOnExpressionError(t *testing.T) {
	res := runPing(t, false, enginetest.Rule{Stdout: "PING peer: 56 data bytes\n"})
	if res.Outcome != auto.NeedsHuman || res.Stopped == nil || res.Stopped.Kind != "expression" {
		t.Fatalf("outcome %s, stopped %+v, errors %v: want an expression stop", res.Outcome, res.Stopped, res.Errors)
	}
	if res.Stopped.Expr != "exit == 0 && int(loss) == 0" || len(res.Stopped.Values) != 2 || res.Stopped.Values[1].Value != "<no match>" {
		t.Errorf("stopped %+v: want the expression and loss=<no match>", res.Stopped)
	}
	if !strings.Contains(res.Stopped.Reason, "loss did not match") {
		t.Errorf("reason %q does not say the capture did not match", res.Stopped.Reason)
	}
}

type hostKeyChanged struct{}

func (hostKeyChanged) Error() string   { return "REMOTE HOST IDENTIFICATION HAS CHANGED" }
func (hostKeyChanged) Retryable() bool { return false }

// A transport failure is a probe that did not run either: needs a human,
// with what retrying can or cannot do.
func TestAutoStopsOnTransportFailure(t *testing.T) {
	res := runPing(t, false, enginetest.Rule{Err: hostKeyChanged{}})
	if res.Outcome != auto.NeedsHuman || res.ExitCode != 4 || res.Stopped == nil || res.Stopped.Kind != "transport" {
		t.Fatalf("outcome %s (exit %d), stopped %+v, errors %v: want a transport stop", res.Outcome, res.ExitCode, res.Stopped, res.Errors)
	}
	if !strings.Contains(res.Stopped.Reason, "HAS CHANGED") || !strings.Contains(res.Stopped.Reason, "retrying cannot help") {
		t.Errorf("reason %q: want the error and that retrying cannot help", res.Stopped.Reason)
	}
}
