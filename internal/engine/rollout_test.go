package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const rolloutRunbook = `runbook: 1
id: ro
title: rollout
targets:
  nodes: {group: true}
steps:
  - id: restart
    doc: Restarts ecss-core on every node; calls on a node drop while it restarts.
    fix: {on: nodes, cmd: "systemctl restart ecss-core", destructive: true}
    rollout:
      canary: 1
      batch: 30%
      max_errors: 1
      verify: {on: nodes, cmd: "systemctl is-active ecss-core"}
      ok: trim(stdout) == "active"
    branches:
      - {if: exit == 0, goto: done}
    else: escalate
  - id: done
    end: resolved
  - id: escalate
    message: "failed: {{ join(steps.restart.rollout.failed, ',') }}; not changed: {{ join(steps.restart.rollout.skipped, ',') }}"
    end: escalated
`

func tenNodes() ([]string, map[string][]engine.Host) {
	var names []string
	for i := 1; i <= 10; i++ {
		names = append(names, fmt.Sprintf("n%02d", i))
	}
	return names, nodes(names...)
}

func rolloutFake(badVerify ...string) *enginetest.Fake {
	f := enginetest.New()
	for _, h := range badVerify {
		f.Add(enginetest.Rule{Host: h, Match: `^systemctl is-active`, Stdout: "failed\n", Exit: 3})
	}
	f.Add(enginetest.Rule{Match: `^systemctl is-active`, Stdout: "active\n"})
	f.Add(enginetest.Rule{Match: `^systemctl restart`})
	return f
}

// TestRolloutStopsWhenErrorsExceedTheBudget: canary, then batches of 30 %
// (3 of 10); after the batch where two hosts fail their verification (more
// than max_errors 1) the rollout stops and asks; "stop" leaves the rest
// unchanged and the fix's route sees the failure.
func TestRolloutStopsWhenErrorsExceedTheBudget(t *testing.T) {
	rb := mustLoad(t, rolloutRunbook)
	_, targets := tenNodes()
	fake := rolloutFake("n05", "n06")
	log := &eventLog{}
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: targets, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptConfirm || len(p.Commands) != 10 {
		t.Fatalf("want a confirmation for 10 hosts: %+v %v", p, err)
	}
	if err := s.Confirm(nil, "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptAsk || !slices.Equal(p.Choices, []string{"continue", "stop"}) {
		t.Fatalf("want the rollout to stop and ask, got %s %v", p.Kind, p.Choices)
	}
	if !strings.Contains(p.Text, "after 7 of 10 hosts: 2 failed") || !strings.Contains(p.Text, "n05 (verify: exit 3") {
		t.Errorf("the question should say how far and who failed: %q", p.Text)
	}
	if got := ranOn(fake, "systemctl restart"); !slices.Equal(got, []string{"n01", "n02", "n03", "n04", "n05", "n06", "n07"}) {
		t.Fatalf("the fix ran on %v", got)
	}
	// The canary ran alone, before any other host.
	if c := fake.Calls(); c[0].Host != "n01" || c[1].Host != "n01" || !strings.HasPrefix(c[1].Script, "systemctl is-active") {
		t.Errorf("the canary was not first and verified alone: %v", c[:2])
	}
	if _, ok, _ := s.AutoAnswer(p.Step); ok {
		t.Error("a stopped rollout must not be answered by policy")
	}
	if err := s.Answer("stop", "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated || p.Message != "failed: n05,n06; not changed: n08,n09,n10" {
		t.Fatalf("got %s %s %q", p.Kind, p.Outcome, p.Message)
	}
	var batches []string
	for _, e := range log.evs {
		if e.Type == engine.EvRollout {
			batches = append(batches, e.Text)
		}
	}
	if len(batches) < 4 || !strings.HasPrefix(batches[0], "canary: n01 (1 of 10") || !strings.HasPrefix(batches[1], "batch 2: n02, n03, n04 (4 of 10") {
		t.Errorf("rollout events: %q", batches)
	}
}

// TestRolloutContinueAndResume: the operator goes on past a failure; the
// process dies after a batch; the resumed session offers the fix again,
// marked interrupted, and changes only the hosts not yet changed.
func TestRolloutContinueAndResume(t *testing.T) {
	rb := mustLoad(t, strings.Replace(rolloutRunbook, "max_errors: 1", "max_errors: 0", 1))
	_, targets := tenNodes()
	log := &eventLog{}
	s, err := engine.NewSession(rb, engine.Options{Executor: rolloutFake("n03"), Targets: targets, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Confirm(nil, "operator"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptAsk || !strings.Contains(p.Text, "n03 (verify") {
		t.Fatalf("want a stop after n03 failed: %+v %v", p, err)
	}
	if err := s.Answer("continue", "operator"); err != nil {
		t.Fatal(err)
	}
	// Cut the journal after the next batch (n05..n07) finished.
	if _, err := s.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	cut := 0
	for i, e := range log.evs {
		if e.Type == engine.EvRollout && strings.HasPrefix(e.Text, "batch 3:") {
			cut = i
		}
	}
	for i := cut + 1; i < len(log.evs); i++ {
		if log.evs[i].Type == engine.EvRollout {
			cut = i
			break
		}
	}
	if cut == 0 {
		t.Fatalf("no batch 3 in %v", log.evs)
	}
	evs := log.evs[:cut]
	fake := rolloutFake()
	r, err := engine.Restore(rb, engine.Options{Executor: fake, Targets: targets}, evs)
	if err != nil {
		t.Fatal(err)
	}
	p, err = r.Advance(ctx)
	if err != nil || p.Kind != engine.PromptConfirm || !r.Interrupted() {
		t.Fatalf("want the fix offered again, interrupted: %+v %v", p, err)
	}
	if err := r.Confirm(nil, "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = r.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ranOn(fake, "systemctl restart"); !slices.Equal(got, []string{"n08", "n09", "n10"}) {
		t.Fatalf("after resume the fix ran on %v, want only the hosts not yet changed", got)
	}
	// n03's failure is still counted: the route is the failure one.
	if p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated || !strings.HasPrefix(p.Message, "failed: n03;") {
		t.Fatalf("got %s %s %q %q", p.Kind, p.Outcome, p.Message, p.Text)
	}
}
