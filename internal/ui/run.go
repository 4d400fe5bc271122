package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Run opens the TUI on the terminal and walks the runbook until the session
// ends or the operator quits. Extra program options are for tests.
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) (Result, error) {
	m := New(ctx, cfg)
	opts = append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)
	p := tea.NewProgram(m, opts...)
	final, err := p.Run()
	m.pump.close()
	if cfg.Requests != nil {
		cfg.Requests.Close()
	}
	// Stop the session's work before the driver finalises the bundle and
	// journal: nothing may emit events into them once Run returns.
	if m.cancel != nil {
		m.cancel()
	}
	if !m.stopWork(10 * time.Second) {
		err = errors.Join(err, fmt.Errorf("a step did not stop within 10s of the TUI ending"))
	}
	if err != nil {
		res := m.Result()
		res.Session = m.session
		return res, fmt.Errorf("run the TUI: %w", err)
	}
	res := final.(*Model).Result()
	res.Session = final.(*Model).session
	if m.fatal != nil && res.Err == nil {
		res.Err = m.fatal
	}
	return res, nil
}
