package engine_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const collectRunbook = `runbook: 1
id: c
title: C
targets: {host: {}}
params:
  unit: {type: string, default: app}
steps:
  - id: gather
    collect:
      - {on: host, files: ["/var/log/app/*.log", "/var/log/none/*.gz"], since: 20m, max_bytes: 8}
      - {on: host, cmd: "journalctl -u {{ params.unit }}"}
    next: done
  - id: done
    end: escalated
`

// TestCollectShowsPlanProgressAndEmptyGlobs: before the step, the plan per
// host (commands rendered); while it runs, bytes as they are read; after,
// a glob that matched nothing is recorded (event and collector), and in
// step mode the walk pauses on the result before it goes on.
func TestCollectShowsPlanProgressAndEmptyGlobs(t *testing.T) {
	rb, err := engine.Load("c.yaml", []byte(collectRunbook))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^journalctl -u app$`, Stdout: "boom\n"})
	fake.Files = map[string]map[string]string{"local": {"/var/log/app/a.log": "short\n", "/var/log/app/b.log": "0123456789abcdef\n"}}
	var mu sync.Mutex
	var progress []engine.CollectProgress
	var evs []engine.Event
	col := &recordingCollector{}
	s, err := engine.NewSession(rb, engine.Options{
		Executor: fake, Targets: map[string][]engine.Host{"host": {{Role: "host", Name: "local"}}},
		StepMode: true, Collector: col,
		OnEvent: func(e engine.Event) { evs = append(evs, e) },
		OnProgress: func(p engine.CollectProgress) {
			mu.Lock()
			progress = append(progress, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptRun {
		t.Fatalf("prompt %v, %v", p, err)
	}
	plan := s.CollectPlan(p.Step)
	if len(plan) != 2 || plan[0].Host.Name != "local" || len(plan[0].Files) != 2 || plan[1].Command != "journalctl -u app" {
		t.Fatalf("plan %+v", plan)
	}
	if err := s.Proceed(); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptDecided || p.Step.ID != "gather" {
		t.Fatalf("step mode does not pause after collecting: %s at %s", p.Kind, p.Step.ID)
	}
	if want := "collected 2 files (14 B), 1 command output, 1 not collected → done"; p.Decision.Explain != want {
		t.Errorf("explain %q, want %q", p.Decision.Explain, want)
	}
	var empty *engine.Event
	for i, e := range evs {
		if e.Type == engine.EvCollect && e.Status == "empty" {
			empty = &evs[i]
		}
	}
	if empty == nil || empty.Path != "/var/log/none/*.gz" || !strings.Contains(empty.Error, "no file matched (modified within 20m)") {
		t.Fatalf("empty glob not recorded as an event: %+v", empty)
	}
	if got := strings.Join(col.skipped, ";"); got != "/var/log/none/*.gz empty" {
		t.Errorf("collector skipped %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	last := map[string]engine.CollectProgress{}
	for _, pr := range progress {
		last[pr.Path] = pr
	}
	if a := last["/var/log/app/a.log"]; a.Read != 6 || a.Size != 6 {
		t.Errorf("progress of a.log: %+v", a)
	}
	if b := last["/var/log/app/b.log"]; b.Read != 8 || b.Size != 8 {
		t.Errorf("progress of the truncated b.log (its tail): %+v", b)
	}
	if err := s.Proceed(); err != nil {
		t.Fatal(err)
	}
	if p, _ = s.Advance(ctx); p.Kind != engine.PromptEnd {
		t.Fatalf("want the end, got %s", p.Kind)
	}
}

type recordingCollector struct{ skipped []string }

func (c *recordingCollector) File(ctx context.Context, h engine.Host, step string, f engine.RemoteFile, r io.Reader) error {
	_, err := readAll(r)
	return err
}

func readAll(r io.Reader) (int, error) {
	buf := make([]byte, 3) // small reads: progress comes in steps
	n := 0
	for {
		k, err := r.Read(buf)
		n += k
		if err != nil {
			return n, nil
		}
	}
}

func (c *recordingCollector) Skipped(h engine.Host, step string, f engine.RemoteFile, status, reason string) {
	c.skipped = append(c.skipped, f.Path+" "+status)
}

func (c *recordingCollector) Command(h engine.Host, step, cmd string) engine.CommandSink {
	return discardSink{}
}

type discardSink struct{}

func (discardSink) Write(p []byte) (int, error)             { return len(p), nil }
func (discardSink) Close(engine.CommandResult, error) error { return nil }
