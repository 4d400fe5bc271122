package journal

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// Hosts of a group step end together: their results are durable when Event
// returns (an fsync covers each line), but they share fsyncs instead of
// queueing one each behind the journal's lock.
func TestDurableEventsShareFsyncs(t *testing.T) {
	sd := newSlowDisk(t, 20*time.Millisecond)
	w, calls := sd.w, &sd.calls
	const hosts = 50
	var wg sync.WaitGroup
	var early atomic.Int32
	start := make(chan struct{})
	for i := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			exit := 0
			before := sd.written()
			w.Event(engine.Event{Seq: i + 1, Type: engine.EvResult, Step: "probe", Host: "h" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Exit: &exit})
			// Durable on return: an fsync covered this event's line.
			if sd.onDisk() < before+1 {
				early.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if early.Load() > 0 {
		t.Errorf("%d events returned before any fsync covered them", early.Load())
	}
	if c := calls.Load(); c == 0 || c >= hosts/2 {
		t.Errorf("%d fsyncs for %d concurrent results: not shared", c, hosts)
	} else {
		t.Logf("%d fsyncs for %d concurrent results", c, hosts)
	}
	_, evs, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == engine.EvResult {
			n++
		}
	}
	if n != hosts {
		t.Fatalf("%d results in the journal, want %d", n, hosts)
	}
}

// The same through a live session: the journal is the session's OnEvent
// (Write, in order) and Settle (the fsync wait, outside the session's
// event lock), so a group step's hosts share fsyncs, and every result is
// on disk before the decision made from it.
func TestSessionResultsShareFsyncs(t *testing.T) {
	const hosts = 40
	rb, err := engine.Load("fleet.yaml", []byte(`runbook: 1
id: fleet
title: Fleet
targets:
  nodes: {description: every node, group: true}
steps:
  - id: probe
    run: {on: nodes, cmd: "true"}
    branches:
      - {if: 'all(results, .exit == 0)', goto: ok}
    else: ok
  - id: ok
    end: resolved
`))
	if err != nil {
		t.Fatal(err)
	}
	var nodes []engine.Host
	for i := range hosts {
		nodes = append(nodes, engine.Host{Role: "nodes", Name: fmt.Sprintf("h%02d", i)})
	}
	sd := newSlowDisk(t, 10*time.Millisecond)
	w, calls := sd.w, &sd.calls
	var lastResult uint64 // OnEvent calls are serialised
	unsafe := 0
	s, err := engine.NewSession(rb, engine.Options{
		Targets:  map[string][]engine.Host{"nodes": nodes},
		Executor: enginetest.New(enginetest.Rule{Match: "true", Delay: 5 * time.Millisecond}),
		OnEvent: func(e engine.Event) {
			if e.Type == engine.EvDecision && sd.onDisk() < lastResult {
				unsafe++
			}
			w.Write(e)
			if e.Type == engine.EvResult {
				lastResult = max(lastResult, sd.written())
			}
		},
		Settle: w.Settle,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 10 {
		if ended, _, _ := s.Ended(); ended {
			break
		}
		if _, err := s.Advance(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ended, outcome, _ := s.Ended(); !ended || outcome != engine.OutcomeResolved {
		t.Fatalf("session: ended %v, %s", ended, outcome)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if unsafe > 0 {
		t.Errorf("the decision was made before its results were on disk")
	}
	if c := calls.Load(); c >= hosts/2 {
		t.Errorf("%d fsyncs for %d hosts' results: each waited alone", c, hosts)
	}
	_, evs, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	for _, e := range evs {
		if e.Type == engine.EvResult {
			results++
		}
	}
	if results != hosts {
		t.Errorf("%d results in the journal, want %d", results, hosts)
	}
}

// slowDisk is a new journal whose fsync takes d, counts itself, and says
// how many lines it has put on disk.
type slowDisk struct {
	w       *Writer
	calls   atomic.Int32
	mu      sync.Mutex
	covered uint64 // lines on disk per the fake fsync
}

func newSlowDisk(t *testing.T, d time.Duration) *slowDisk {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w, err := Create(t.TempDir(), Header{ID: NewID("fleet", t0), Runbook: "fleet", Source: "runbook: 1\n", SHA256: sum("runbook: 1\n"), Started: t0, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	sd := &slowDisk{w: w}
	w.fsync = func(f *os.File) error {
		sd.calls.Add(1)
		n := sd.written()
		time.Sleep(d) // a slow disk's fsync
		sd.mu.Lock()
		sd.covered = max(sd.covered, n)
		sd.mu.Unlock()
		return f.Sync()
	}
	return sd
}

// written is how many lines the journal has written; onDisk how many of
// them an fsync covered.
func (sd *slowDisk) written() uint64 {
	sd.w.mu.Lock()
	defer sd.w.mu.Unlock()
	return sd.w.written
}

func (sd *slowDisk) onDisk() uint64 {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	return sd.covered
}
