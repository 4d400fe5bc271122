package ui

import (
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
)

// maxQueuedOutput bounds output bytes waiting for the UI. If the UI falls
// that far behind, the oldest waiting output is dropped from the display (the
// transcript still has it, it gets events directly) and a note says so.
const maxQueuedOutput = 8 << 20

// taggedEvent is an engine event with the run that produced it.
type taggedEvent struct {
	run int
	ev  engine.Event
}

// eventsMsg delivers a batch of events.
type eventsMsg struct {
	events  []taggedEvent
	counted bool // taken by waitCmd (see pump.inflight)
}

// pump carries events from session goroutines to Update. OnEvent must never
// block the session (it is called while probes stream), so push only
// appends under a lock and signals.
type pump struct {
	mu      sync.Mutex
	queue   []taggedEvent
	bytes   int
	dropped int64 // output bytes dropped from the display
	run     int
	notify  chan struct{}
	done    chan struct{}
	once    sync.Once
	every   time.Duration
	// progress is the latest collect progress: a state, not a queue, so
	// a fast read never floods the UI (frames read it at every tick).
	progress    engine.CollectProgress
	hasProgress bool
	// inflight counts batches taken by waitCmd and not yet applied by
	// Update; tests wait for it to reach zero.
	inflight atomic.Int32
}

func newPump(every time.Duration) *pump {
	return &pump{notify: make(chan struct{}, 1), done: make(chan struct{}), every: every}
}

// setRun tags the events that follow with run id.
func (p *pump) setRun(id int) {
	p.mu.Lock()
	p.run = id
	p.mu.Unlock()
}

// push queues an event; consecutive output chunks of one stream are merged.
func (p *pump) push(e engine.Event) {
	p.mu.Lock()
	if e.Type == engine.EvOutput {
		if n := len(p.queue); n > 0 {
			last := &p.queue[n-1]
			if last.run == p.run && last.ev.Type == engine.EvOutput && last.ev.Step == e.Step &&
				last.ev.Host == e.Host && last.ev.Stream == e.Stream {
				last.ev.Data += e.Data
				p.bytes += len(e.Data)
				p.trim()
				p.mu.Unlock()
				p.signal()
				return
			}
		}
		p.bytes += len(e.Data)
	}
	p.queue = append(p.queue, taggedEvent{run: p.run, ev: e})
	p.trim()
	p.mu.Unlock()
	p.signal()
}

// trim drops the oldest queued output while over the bound.
func (p *pump) trim() {
	for i := 0; p.bytes > maxQueuedOutput && i < len(p.queue); i++ {
		ev := &p.queue[i].ev
		if ev.Type != engine.EvOutput || ev.Data == "" {
			continue
		}
		cut := min(len(ev.Data), p.bytes-maxQueuedOutput)
		ev.Data = ev.Data[cut:]
		p.bytes -= cut
		p.dropped += int64(cut)
	}
}

func (p *pump) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// drain takes everything queued.
func (p *pump) drain() []taggedEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queue
	p.queue = nil
	p.bytes = 0
	return q
}

// takeDropped returns and resets the count of dropped output bytes.
func (p *pump) takeDropped() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dropped
	p.dropped = 0
	return d
}

// waitCmd blocks until events arrive, lets more gather for one batch
// interval, and delivers them. Update re-arms it after every batch.
func (p *pump) waitCmd() tea.Cmd {
	return func() tea.Msg {
		select {
		case <-p.notify:
		case <-p.done:
			return nil
		}
		if p.every > 0 {
			t := time.NewTimer(p.every)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				return nil
			}
		}
		p.mu.Lock()
		evs := p.queue
		p.queue, p.bytes = nil, 0
		if len(evs) > 0 {
			p.inflight.Add(1) // under the lock: never zero while a batch is in hand
		}
		p.mu.Unlock()
		return eventsMsg{events: evs, counted: len(evs) > 0}
	}
}

// setProgress records the latest collect progress (never blocks).
func (p *pump) setProgress(pr engine.CollectProgress) {
	p.mu.Lock()
	p.progress, p.hasProgress = pr, true
	p.mu.Unlock()
}

// takeProgress returns the progress reported since the last take.
func (p *pump) takeProgress() (engine.CollectProgress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.progress, p.hasProgress
	p.hasProgress = false
	return pr, ok
}

// close stops waiting commands (the program is ending).
func (p *pump) close() { p.once.Do(func() { close(p.done) }) }
