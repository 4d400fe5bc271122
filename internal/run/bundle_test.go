package run

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
// quit dialog, possibly both, and the finish path closes it again after the TUI. The
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
	dir := t.TempDir()
	l, err := newLifecycle(Options{Runbook: rb, Targets: sc.Bindings(), Params: sc.Params, Stderr: &stderr,
		Bundle: BundleOptions{Path: dir, NoClockSkew: true}, Journal: JournalOptions{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.openBundle(); err != nil || l.bundle == nil {
		t.Fatalf("openBundle: %v", err)
	}
	b := l.bundle
	sopts := l.sopts
	sopts.Executor = scenario.NewExecutor(sc)
	sopts.OnEvent = fanout(l.sinks())
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
	l.session = s
	l.finish(ctx) // the finish path after the TUI: must not write again
	if p2 != p1 || err2 != nil {
		t.Fatalf("second export gave %q, %v; want %q", p2, err2, p1)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.tar.gz")); len(matches) != 1 {
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
