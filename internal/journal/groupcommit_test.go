package journal

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Hosts of a group step end together: their results are durable when Event
// returns (an fsync covers each line), but they share fsyncs instead of
// queueing one each behind the journal's lock.
func TestDurableEventsShareFsyncs(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w, err := Create(dir, Header{ID: NewID("fleet", t0), Runbook: "fleet", Source: "runbook: 1\n", SHA256: sum("runbook: 1\n"), Started: t0, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var mu sync.Mutex
	var covered uint64 // lines on disk per the fake fsync
	w.fsync = func(f *os.File) error {
		calls.Add(1)
		w.mu.Lock()
		n := w.written
		w.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // a slow disk's fsync
		mu.Lock()
		covered = max(covered, n)
		mu.Unlock()
		return f.Sync()
	}
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
			w.mu.Lock()
			before := w.written
			w.mu.Unlock()
			w.Event(engine.Event{Seq: i + 1, Type: engine.EvResult, Step: "probe", Host: "h" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Exit: &exit})
			// Durable on return: an fsync covered this event's line.
			mu.Lock()
			if covered < before+1 {
				early.Add(1)
			}
			mu.Unlock()
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
