package engine

import (
	"context"
	"sync"
	"time"
)

// SteppedClock is a Clock that moves only when the session sleeps, so wait
// steps poll at their declared intervals without real time passing:
// scenario runs (`runbook test`) and tests use it.
type SteppedClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewSteppedClock starts a SteppedClock at start.
func NewSteppedClock(start time.Time) *SteppedClock { return &SteppedClock{now: start} }

// Now is the clock's current time.
func (c *SteppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep moves the clock forward by d at once (unless ctx is done).
func (c *SteppedClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}
