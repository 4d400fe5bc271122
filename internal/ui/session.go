package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
)

// promptMsg is the end of an act: the prompt the session now waits on.
type promptMsg struct {
	run    int
	prompt *engine.Prompt
	err    error
}

// actionErrMsg reports an action the session refused (bad input, no such
// step); the previous prompt still stands.
type actionErrMsg struct {
	run int
	err error
}

// tickMsg animates the spinner and elapsed time of a running command.
type tickMsg struct {
	run int
	t   time.Time
}

// bundleMsg reports a finished bundle export.
type bundleMsg struct {
	path string
	err  error
}

// finalMsg ends the program after the session was closed (aborted or ended).
type finalMsg struct {
	path string
	err  error
}

// action is one change to the session, run inside act's command.
type action func(s *engine.Session) error

// act runs f and then Advance in a command. Only one runs at a time: while
// it does, the model is in stateRunning and does not touch the session.
func (m *Model) act(what string, f action) tea.Cmd {
	if m.x.replay {
		return nil // a replay is read-only: nothing runs (replay.go)
	}
	m.run++
	id := m.run
	ctx, cancel := context.WithCancel(m.ctx)
	m.cancel = cancel
	m.state = stateRunning
	m.activity = what
	// Elapsed counts from now, never from the last frame of an earlier run.
	m.runStarted = m.now()
	m.lastTick = m.runStarted
	s, p := m.session, m.pump
	notes := m.queuedNotes
	m.queuedNotes = nil
	before := m.before
	m.before = nil
	if before != nil {
		m.activity = "connecting to the hosts"
	}
	run := m.work(func() tea.Msg {
		defer cancel()
		p.setRun(id)
		if before != nil {
			before(ctx)
		}
		for _, n := range notes {
			if err := s.Note(n); err != nil {
				return actionErrMsg{run: id, err: fmt.Errorf("add note: %w", err)}
			}
		}
		if f != nil {
			if err := f(s); err != nil {
				return actionErrMsg{run: id, err: err}
			}
		}
		pr, err := s.Advance(ctx)
		return promptMsg{run: id, prompt: pr, err: err}
	})
	return tea.Batch(run, m.tickCmd(id))
}

// tickCmd re-arms the spinner tick of a run.
func (m *Model) tickCmd(run int) tea.Cmd {
	return tea.Tick(100*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg{run: run, t: t} })
}

// finalize closes the session (aborting it unless it ended), exports the
// bundle when asked, and quits.
func (m *Model) finalize(export bool) tea.Cmd {
	if m.x.replay {
		return m.quit()
	}
	m.state = stateRunning
	m.activity = "closing the session"
	m.quitting = true
	s, exp, ctx, interrupting := m.session, m.cfg.ExportBundle, m.ctx, m.interrupting
	return m.work(func() tea.Msg {
		if s == nil {
			return finalMsg{}
		}
		if ended, _, _ := s.Ended(); !ended && !interrupting {
			s.Abort("operator quit")
		}
		if export && exp != nil {
			path, err := exp(ctx, s)
			return finalMsg{path: path, err: err}
		}
		return finalMsg{}
	})
}

// exportCmd writes the bundle of an ended session (final screen).
func (m *Model) exportCmd() tea.Cmd {
	if m.cfg.ExportBundle == nil || m.session == nil || m.x.replay {
		return nil
	}
	m.exporting = true
	s, exp, ctx := m.session, m.cfg.ExportBundle, m.ctx
	return m.work(func() tea.Msg {
		path, err := exp(ctx, s)
		return bundleMsg{path: path, err: err}
	})
}

// work wraps a command that touches the session, so Run can wait for it:
// once the program has ended, no new session work starts, and work already
// running is waited for before the driver finalises bundle and journal.
func (m *Model) work(f func() tea.Msg) tea.Cmd {
	return func() tea.Msg {
		m.workMu.Lock()
		if m.workClosed {
			m.workMu.Unlock()
			return nil
		}
		m.working.Add(1)
		m.workMu.Unlock()
		defer m.working.Done()
		return f()
	}
}

// stopWork refuses new session work and waits (at most limit) for the
// work in flight, which the caller has cancelled. It reports whether all
// of it ended.
func (m *Model) stopWork(limit time.Duration) bool {
	m.workMu.Lock()
	m.workClosed = true
	m.workMu.Unlock()
	done := make(chan struct{})
	go func() { m.working.Wait(); close(done) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// isCancel reports an Advance stopped by our own cancel.
func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
