package engine_test

import (
	"context"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// TestResumeKeepsStructuredCaptures: the journal records a table capture as
// its JSON text; a session resumed from those events sees the rows again,
// so the instruction it shows names the same member.
func TestResumeKeepsStructuredCaptures(t *testing.T) {
	src := `runbook: 1
id: resume-table
title: Resume a table capture
targets:
  m: {description: master}
steps:
  - id: members
    run: {on: m, cmd: "etcdctl member list -w table"}
    capture:
      rows: {table: true}
    next: tell
  - id: tell
    manual: "Remove {{ find(steps.members.rows, .STATUS != 'started').ID }}."
    next: done
  - id: done
    end: resolved
`
	rb, ds := engine.Check("r.yaml", []byte(src))
	if rb == nil {
		t.Fatal(ds)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^etcdctl`, Stdout: "| ID | STATUS |\n| 91bc3c398fb3c146 | unstarted |\n| fd422379fda50e48 | started |\n"})
	var evs []engine.Event
	hosts := map[string][]engine.Host{"m": {{Role: "m", Name: "master-0"}}}
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: hosts, OnEvent: func(e engine.Event) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Text != "Remove 91bc3c398fb3c146." {
		t.Fatalf("live: %+v %v", p, err)
	}
	r, err := engine.NewSession(rb, engine.Options{Executor: enginetest.New(), Targets: hosts, Resume: evs})
	if err != nil {
		t.Fatal(err)
	}
	p, err = r.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptManual || p.Text != "Remove 91bc3c398fb3c146." {
		t.Fatalf("resumed: %+v %v", p, err)
	}
}
