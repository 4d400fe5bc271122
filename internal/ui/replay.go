package ui

// Read-only replay (runbook sessions show ID): a session restored from its
// journal opens on the same screens (outline, path taken, tree, look back
// at any visit, explain any decision, the palette), and nothing runs: the
// model never calls an action or Advance (act refuses), writes no bundle,
// takes no note. The driver gives the restored session an executor that
// refuses every command, so no host is ever contacted.

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// NewReplay is the root model over s, a session restored from journal id,
// read-only. cfg.Runbook is the journaled runbook; cfg.Options only names
// the targets (the status bar); its executor is never used.
func NewReplay(ctx context.Context, cfg Config, s *engine.Session, id string) *Model {
	if cfg.Banner == "" {
		cfg.Banner = "replay · read-only · nothing runs"
	} else {
		cfg.Banner = "replay · " + cfg.Banner
	}
	cfg.ExportBundle, cfg.Before = nil, nil
	base := cfg
	base.Options.Executor = nil
	m := newModel(ctx, base)
	m.x.replay, m.x.replayID = true, id
	m.session = s
	m.prompt = s.Pending()
	m.state = stateDone
	ended, o, text := s.Ended()
	if ended {
		m.result.Outcome, m.result.Message = o, text
	}
	m.snapshot()
	m.showEnd()
	m.relayout()
	return m
}

// RunReplay opens the replay on the terminal until the operator quits.
func RunReplay(ctx context.Context, cfg Config, s *engine.Session, id string, opts ...tea.ProgramOption) error {
	m := NewReplay(ctx, cfg, s, id)
	opts = append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)
	_, err := tea.NewProgram(m, opts...).Run()
	m.pump.close()
	if err != nil {
		return fmt.Errorf("run the TUI: %w", err)
	}
	return nil
}

// replayHeader opens the end screen of a replay: which session, and that
// it is only looked at.
func (m *Model) replayHeader() string {
	if !m.x.replay {
		return ""
	}
	s := m.styles
	h := s.Title.Render("Replay of session "+untrusted.SanitizeLine(m.x.replayID)) + s.Muted.Render(" · read-only: nothing runs, no host is contacted") + "\n"
	if ended, _, _ := m.session.Ended(); !ended {
		where := m.session.Current().Label()
		h += s.Warning.Render("Not ended: it stopped at "+untrusted.SanitizeLine(where)) + s.Muted.Render(" (runbook resume "+untrusted.SanitizeLine(m.x.replayID)+" continues it)") + "\n"
	}
	return h + "\n"
}
