package engine_test

import (
	"context"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// hangingFetch is the scripted fake whose file transfers hang until the
// collect item's timeout ends them, like an SFTP server that stalls.
type hangingFetch struct{ *enginetest.Fake }

func (hangingFetch) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestCollectFilesTimeoutIsSaidAsTimeout: a files item whose timeout fires
// leaves a "timeout" entry that says "timed out after 50ms", and the
// decision says so too — not "context deadline exceeded".
func TestCollectFilesTimeoutIsSaidAsTimeout(t *testing.T) {
	rb, err := engine.Load("c.yaml", []byte(`runbook: 1
id: c
title: C
targets: {host: {}}
steps:
  - id: gather
    collect:
      - {on: host, files: "/var/log/app/*.log", timeout: 50ms}
    next: done
  - id: done
    end: escalated
`))
	if err != nil {
		t.Fatal(err)
	}
	col := &recordingCollector{}
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{
		Executor: hangingFetch{enginetest.New()}, Targets: map[string][]engine.Host{"host": {{Role: "host", Name: "local"}}},
		Collector: col, OnEvent: func(e engine.Event) { evs = append(evs, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		if e.Type == engine.EvCollect {
			found = true
			if e.Status != "timeout" || e.Error != "timed out after 50ms" {
				t.Errorf("collect event: status %q, error %q", e.Status, e.Error)
			}
		}
	}
	if !found {
		t.Fatalf("no collect event: %+v", evs)
	}
}
