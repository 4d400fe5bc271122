package engine_test

import (
	"context"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// TestBranchesSeeLanguageHelpers: the helpers of the runbook language
// (around, hex, fromJSON, timeFormat) work in branch conditions at run time,
// not only in templates and for_each: an error logged at 12:01 is inside the
// 10-minute window of an alarm at 11:59.
func TestBranchesSeeLanguageHelpers(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: helpers-in-branches
title: Helpers in branches
targets:
  node: {description: the node}
params:
  alarm_time: {type: time, description: when the alarm fired}
steps:
  - id: scan
    run: {on: node, cmd: "grep ERROR ha.log"}
    capture: {at: '^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})'}
    branches:
      - if: >-
          has(at) && at >= around(date(params.alarm_time), "10m").from.Format("2006-01-02 15:04:05") &&
          at <= around(date(params.alarm_time), "10m").to.Format("2006-01-02 15:04:05") &&
          hex("255") == "ff" && fromJSON("[1]")[0] == 1 && timeFormat(date(at), "15:04") == "12:01"
        goto: in-window
    else: outside
  - id: in-window
    end: resolved
  - id: outside
    end: escalated
`)
	fake := enginetest.New(enginetest.Rule{Match: `^grep ERROR ha\.log$`,
		Stdout: "2021-03-22 12:01:07,611 | ERROR | HASyncFileThread | Failed to synchronize\n"})
	s, err := engine.NewSession(rb, engine.Options{Executor: fake,
		Params:  map[string]string{"alarm_time": "2021-03-22 11:59"},
		Targets: map[string][]engine.Host{"node": {{Role: "node", Name: "n1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved {
		t.Fatalf("got prompt %s (outcome %q, error %v), want the end in-window", p.Kind, p.Outcome, p.Err)
	}
}
