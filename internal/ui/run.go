package ui

import (
	"context"
	"fmt"

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
