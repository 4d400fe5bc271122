package ui

// The explain view (x): why the current decision, or a looked-at visit's,
// went where it went: each test in order with every value it read, the
// route and who chose it. y copies it as plain text (OSC 52, through the
// terminal; tmux needs set-clipboard on). Nothing here touches the session.

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/explain"
	"github.com/runbook-dev/runbook/internal/ui/palette"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
)

// extras is the state of the explain view, the palette, the search memory
// and read-only replay.
type extras struct {
	explain     []string // the explanation, plain text
	explainOff  int      // first line shown
	explainFrom overlay  // where x was pressed (none or look-back)

	pal     palette.Model
	palFrom overlay

	lastSearch string // the last search term, offered again by /

	replay   bool   // read-only replay of a journaled session (replay.go)
	replayID string // its id
}

// explainVisit is the visit x explains: the looked-at one, else the one
// deciding now, else the last that decided.
func (m *Model) explainVisit() *engine.Visit {
	if m.look != nil {
		return m.look
	}
	if m.session == nil || m.state == stateRunning {
		return nil
	}
	hist := m.session.History()
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Decision != nil || (i == len(hist)-1 && hist[i].Error != "") {
			return hist[i]
		}
	}
	return nil
}

func (m *Model) openExplain() tea.Cmd {
	v := m.explainVisit()
	switch {
	case v == nil && m.state == stateRunning && m.look == nil:
		m.status.SetMessage("wait for the command to finish, then x explains its decision", false)
		return nil
	case v == nil:
		m.status.SetMessage("no decision to explain yet", false)
		return nil
	}
	label := func(id string) string {
		if st := m.rb.Step(id); st != nil {
			return st.Label()
		}
		return id
	}
	m.x.explain = explain.Lines(v, m.rb.Step(v.Step), label)
	var ee *engine.ExprError
	if p := m.prompt; m.look == nil && p != nil && p.Kind == engine.PromptError && errors.As(p.Err, &ee) && v.Decision == nil {
		// The error's own words replace the visit's one-line error.
		m.x.explain = append(m.x.explain[:1], explain.ExprError(ee)...)
	}
	m.x.explainOff = 0
	m.x.explainFrom = m.overlay
	m.overlay = overlayExplain
	return nil
}

func (m *Model) closeExplain() {
	m.overlay = m.x.explainFrom
	m.x.explain = nil
	if m.overlay == overlayNone && m.state == stateDone {
		m.showEnd()
	}
}

func (m *Model) explainKey(k tea.KeyPressMsg) tea.Cmd {
	km := m.keys
	switch {
	case key.Matches(k, km.Close, km.Quit, km.Explain):
		m.closeExplain()
	case key.Matches(k, km.Copy):
		text := explain.Text(m.x.explain)
		m.status.SetMessage(fmt.Sprintf("copied %d lines as plain text (OSC 52: the terminal's clipboard)", len(m.x.explain)), false)
		return tea.SetClipboard(text)
	case key.Matches(k, km.Up):
		m.x.explainOff = max(m.x.explainOff-1, 0)
	case key.Matches(k, km.Down):
		m.x.explainOff++
	case key.Matches(k, km.PageUp):
		m.x.explainOff = max(m.x.explainOff-10, 0)
	case key.Matches(k, km.PageDown):
		m.x.explainOff += 10
	case key.Matches(k, km.Top):
		m.x.explainOff = 0
	case key.Matches(k, km.Palette):
		return m.openPalette()
	}
	return nil
}

// explainView is the main pane of the explain view.
func (m *Model) explainView(l layout) string {
	s := m.styles
	all := explain.View(m.x.explain, s, l.mainW)
	nt := len(explain.View(m.x.explain[:1], s, l.mainW)) // the title's lines
	head := append(all[:nt:nt], s.Muted.Render(textblock.Line("y copies (plain text) · ↑/↓ scroll · esc closes", l.mainW)))
	body := all[nt:]
	room := max(l.bodyH-len(head), 1)
	m.x.explainOff = min(m.x.explainOff, max(len(body)-room, 0))
	end := min(m.x.explainOff+room, len(body))
	return strings.Join(append(head, body[m.x.explainOff:end]...), "\n")
}
