package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const onlyFailedRunbook = `runbook: 1
id: of
title: only failed
targets:
  nodes: {group: true}
steps:
  - id: status
    run: {on: nodes, cmd: "systemctl is-active ecss-core"}
    branches:
      - if: all(results, trim(.stdout) == "active")
        goto: done
    else: escalate
  - id: done
    end: resolved
  - id: escalate
    end: escalated
`

func onlyFailedFake(h2 error) *enginetest.Fake {
	f := enginetest.New()
	if h2 != nil {
		f.Add(enginetest.Rule{Host: "h2", Match: `^systemctl`, Err: h2, Times: 1}) // then it answers
	}
	return f.Add(enginetest.Rule{Match: `^systemctl`, Stdout: "active\n"})
}

// TestRerunFailedRunsOnlyThoseHosts: h2's connection reset; rerunning for
// the failed hosts sends the probe to h2 alone and decides over all four.
func TestRerunFailedRunsOnlyThoseHosts(t *testing.T) {
	rb := mustLoad(t, onlyFailedRunbook)
	f := onlyFailedFake(errors.New("read tcp 127.0.0.1:50022: connection reset by peer"))
	s, err := engine.NewSession(rb, engine.Options{Executor: f, Targets: nodes("h1", "h2", "h3", "h4")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptError {
		t.Fatalf("want a transport error: %+v %v", p, err)
	}
	if got := s.FailedHosts(); !slices.Equal(got, []string{"h2"}) {
		t.Fatalf("failed hosts %v", got)
	}
	before := len(f.Calls())
	if err := s.RerunFailed(); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved {
		t.Fatalf("want resolved over all four hosts: %+v %v", p, err)
	}
	if got := ranOn(f, "systemctl"); len(got) != before+1 || got[2] != "h2" || got[1] != "h2" {
		t.Fatalf("the rerun went to %v, want one more call, to h2", got)
	}
	h := s.History()
	if last := h[len(h)-2]; last.Step != "status" || len(last.Results) != 4 {
		t.Errorf("the rerun's visit should hold all four results: %+v", last)
	}
}

// TestResumeOnlyFailed: `runbook resume --only-failed` after a run that
// stopped at h2's transport error reruns the probe on h2 alone.
func TestResumeOnlyFailed(t *testing.T) {
	rb := mustLoad(t, onlyFailedRunbook)
	log := &eventLog{}
	targets := nodes("h1", "h2", "h3", "h4")
	s, err := engine.NewSession(rb, engine.Options{Executor: onlyFailedFake(errors.New("ssh: handshake failed: EOF")), Targets: targets, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(context.Background()); err != nil || p.Kind != engine.PromptError {
		t.Fatalf("%+v %v", p, err)
	}
	for _, only := range []bool{false, true} {
		f := onlyFailedFake(nil)
		r, err := engine.Restore(rb, engine.Options{Executor: f, Targets: targets, OnlyFailed: only}, log.evs)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Advance(context.Background())
		if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved {
			t.Fatalf("only=%v: %+v %v", only, p, err)
		}
		want := []string{"h1", "h2", "h3", "h4"}
		if only {
			want = []string{"h2"}
		}
		if got := ranOn(f, "systemctl"); !slices.Equal(got, want) {
			t.Errorf("only=%v: ran on %v, want %v", only, got, want)
		}
	}
}
