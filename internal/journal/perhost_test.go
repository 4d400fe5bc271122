package journal

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const perHostSrc = `runbook: 1
id: ph
title: per-host through a real journal
targets:
  nodes: {group: true}
steps:
  - id: check
    per_host: {join: summary}
    run: {on: nodes, cmd: "systemctl is-active ecss-core"}
    branches:
      - {if: exit == 0, goto: summary}
    else: why
  - id: why
    ask: Restart ecss-core on {{ targets.nodes.name }}?
    choices: {"yes": restart, "no": summary}
    auto: stop
  - id: restart
    fix: {on: nodes, cmd: "systemctl restart ecss-core"}
    next: summary
  - id: summary
    run: {on: nodes, cmd: "uptime"}
    next: done
  - id: done
    end: resolved
`

// TestPerHostSectionThroughTheJournal: a per-host section's events,
// written by the journal writer (output capped per step and host) and read
// back, restore every host where it was.
func TestPerHostSectionThroughTheJournal(t *testing.T) {
	rb, err := engine.Load("ph.yaml", []byte(perHostSrc))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := Create(dir, Header{ID: "ph-1", Runbook: "ph", Source: perHostSrc, SHA256: sum(perHostSrc), Started: time.Now(), PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOutput(64) // the status lines below are longer: heads and tails
	long := "● ecss-core.service - ECSS-10 core\n     Loaded: loaded (/lib/systemd/system/ecss-core.service; enabled)\n     Active: failed (Result: exit-code) since Sat 2026-11-28 02:58:11 UTC\n"
	hosts := map[string][]engine.Host{"nodes": {{Role: "nodes", Name: "a"}, {Role: "nodes", Name: "b"}, {Role: "nodes", Name: "c"}}}
	fake := enginetest.New(
		enginetest.Rule{Host: "b", Match: `^systemctl is-active`, Stdout: long, Exit: 3},
		enginetest.Rule{Host: "c", Match: `^systemctl is-active`, Stdout: long, Exit: 3},
		enginetest.Rule{Match: `^systemctl is-active`, Stdout: "active\n"},
		enginetest.Rule{Match: `^systemctl restart`},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: hosts, OnEvent: w.Event})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptAsk || len(p.Hosts) != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	if err := s.Select([]string{"c"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Answer("yes", "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx); err != nil { // c's fix waits for confirmation
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, evs, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	f2 := enginetest.New(enginetest.Rule{Match: `^systemctl restart`}, enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days\n"})
	r, err := engine.Restore(rb, engine.Options{Executor: f2, Targets: hosts}, evs)
	if err != nil {
		t.Fatal(err)
	}
	p, err = r.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waiting := map[engine.PromptKind][]string{}
	for _, g := range p.Section.Waiting {
		waiting[g.Kind] = g.Hosts
	}
	if !slices.Equal(waiting[engine.PromptAsk], []string{"b"}) || !slices.Equal(waiting[engine.PromptConfirm], []string{"c"}) || !slices.Equal(p.Section.Joined, []string{"a"}) {
		t.Fatalf("after the journal: waiting %v, joined %v", waiting, p.Section.Joined)
	}
	for _, c := range f2.Calls() {
		t.Errorf("resume ran %s on %s", c.Script, c.Host)
	}
	// b's output came back whole enough for its own view: head and tail.
	var bOut string
	for _, v := range r.HostVisits("b") {
		for _, res := range v.Results {
			bOut += res.Stdout
		}
	}
	if bOut == "" || bOut[:5] != long[:5] {
		t.Errorf("b's restored output %q", bOut)
	}
}
