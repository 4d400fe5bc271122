package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/catalog"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

// The TUI exports through bundleRun.export: from the final screen and the
// quit dialog, possibly both, and drive closes it again after the TUI. The
// bundle must be written once, carry the session's outcome and verify.
func TestTUIExportWritesOneVerifiableBundle(t *testing.T) {
	e, err := catalog.Resolve("local-disk-health")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := e.Load()
	if err != nil {
		t.Fatal(err)
	}
	scs, err := catalog.Scenarios(rb.ID)
	if err != nil || len(scs) == 0 {
		t.Fatalf("scenarios: %v", err)
	}
	var sc *scenario.Scenario
	for _, s := range scs {
		if s.Expect.Outcome == "escalated" {
			sc = s
		}
	}
	if sc == nil {
		t.Fatal("no escalated scenario for local-disk-health")
	}
	var stderr bytes.Buffer
	o := &runOptions{stderr: &stderr}
	o.bundle.path = t.TempDir()
	sopts := engine.Options{Executor: scenario.NewExecutor(sc), Targets: sc.Bindings(), Params: sc.Params}
	var sinks []func(engine.Event)
	ctx := context.Background()
	b, err := startBundle(ctx, o, rb, &sopts, &sinks)
	if err != nil || b == nil {
		t.Fatalf("startBundle: %v", err)
	}
	sopts.OnEvent = func(ev engine.Event) {
		for _, f := range sinks {
			f(ev)
		}
	}
	s, err := engine.NewSession(rb, sopts)
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(ctx, s, auto.Policy{Answers: sc.Answers})
	if res.Outcome != auto.Escalated {
		t.Fatalf("outcome %s, want escalated (%v)", res.Outcome, res.Errors)
	}
	p1, err := b.export(ctx, s)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	p2, err2 := b.export(ctx, s)
	b.close(ctx, o, nil) // drive's close after the TUI: must not write again
	if p2 != p1 || err2 != nil {
		t.Fatalf("second export gave %q, %v; want %q", p2, err2, p1)
	}
	if matches, _ := filepath.Glob(filepath.Join(o.bundle.path, "*.tar.gz")); len(matches) != 1 {
		t.Fatalf("bundles written: %v, want exactly one", matches)
	}
	m, err := bundle.Verify(p1)
	if err != nil {
		t.Fatalf("verify %s: %v", p1, err)
	}
	if m.Outcome != "escalated" {
		t.Errorf("manifest outcome %q, want escalated", m.Outcome)
	}
}
