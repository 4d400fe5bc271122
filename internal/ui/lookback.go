package ui

// Look back: any visited step opens read-only (v, from anywhere, also over
// the tree): its command, its kept output (scrollable, searchable), its
// results, captures, decision and who made it. Nothing here calls the
// session's driver API: looking never changes the walk.

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/ui/choices"
	"github.com/runbook-dev/runbook/internal/ui/output"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/ui/visit"
)

// keepOutput files the output pane under the visit it belongs to, before
// the pane is reset for the next one.
func (m *Model) keepOutput() {
	if m.curVisit > 0 {
		m.visitOut[m.curVisit] = m.out
	}
}

// visitOutput is a visit's kept output (a copy: scrolling and searching it
// do not move the live pane).
func (m *Model) visitOutput(n int) (output.Model, bool) {
	if n == m.curVisit {
		return m.out, true
	}
	o, ok := m.visitOut[n]
	return o, ok
}

// openLookPicker lists every visit, newest first.
func (m *Model) openLookPicker() tea.Cmd {
	if m.session == nil || m.state == stateRunning {
		m.status.SetMessage("wait for the command to finish, then v looks back", false)
		return nil
	}
	hist := m.session.History()
	if len(hist) == 0 {
		m.status.SetMessage("no step visited yet", false)
		return nil
	}
	var items []choices.Item
	for i := len(hist) - 1; i >= 0; i-- {
		v := hist[i]
		label := v.Step
		if st := m.rb.Step(v.Step); st != nil {
			label = st.Label()
		}
		// The picker numbers its items: the visit number goes in the note,
		// never beside the step's ref.
		note := fmt.Sprintf("visit %d", v.N)
		if v.Decision != nil {
			note += " → " + v.Decision.Next
		}
		items = append(items, choices.Item{Label: visitMark(v).Glyph() + " " + label, Value: fmt.Sprint(v.N), Note: note})
	}
	m.lookFrom = m.overlay
	m.openPicker(forLook, "Look back at which visit? (read-only)", items)
	return nil
}

// openLook shows visit n (1-based) read-only.
func (m *Model) openLook(n int) {
	hist := m.session.History()
	if n < 1 || n > len(hist) {
		return
	}
	m.look = hist[n-1]
	o, ok := m.visitOutput(n)
	if !ok {
		o = output.New(m.styles)
		if m.x.replay {
			o.Info("(replayed from the journal: the output it kept for this visit)")
		} else {
			o.Info("(no output kept on screen for this visit: it ran before this TUI started; the transcript has it)")
		}
		for _, r := range m.look.Results {
			if r.Stdout != "" {
				o.Write(r.Host, false, r.Stdout)
			}
			if r.Stderr != "" {
				o.Write(r.Host, true, r.Stderr)
			}
			o.Flush(r.Host)
		}
	}
	o.Search("")
	o.Top()
	m.lookOut = o
	m.overlay, m.purpose = overlayLook, forNothing
}

// closeLook returns to where look-back was opened from.
func (m *Model) closeLook() {
	m.look = nil
	m.overlay, m.purpose = overlayNone, forNothing
	if m.lookFrom == overlayTree {
		m.overlay = overlayTree
		m.pager.SetContent(m.treeText())
	} else if m.state == stateDone {
		m.showEnd()
	}
	m.lookFrom = overlayNone
}

func (m *Model) lookKey(k tea.KeyPressMsg) tea.Cmd {
	km := m.keys
	switch {
	case key.Matches(k, km.Close, km.Quit, km.Look):
		m.closeLook()
	case key.Matches(k, km.Prev):
		m.openLook(m.look.N - 1)
	case key.Matches(k, km.Next):
		m.openLook(m.look.N + 1)
	case key.Matches(k, km.Up):
		m.lookOut.ScrollUp(1)
	case key.Matches(k, km.Down):
		m.lookOut.ScrollDown(1)
	case key.Matches(k, km.PageUp):
		m.lookOut.ScrollUp(max(m.lookOut.Height()-1, 1))
	case key.Matches(k, km.PageDown):
		m.lookOut.ScrollDown(max(m.lookOut.Height()-1, 1))
	case key.Matches(k, km.Top):
		m.lookOut.Top()
	case key.Matches(k, km.Bottom):
		m.lookOut.Bottom()
	case key.Matches(k, km.Search):
		m.openSearch()
	case key.Matches(k, km.Explain):
		return m.openExplain()
	case key.Matches(k, km.Palette):
		return m.openPalette()
	case key.Matches(k, km.Help):
		m.status.SetMessage("read-only: ←/→ other visits · / searches · esc closes", false)
	}
	return nil
}

// searchOut is the output the search works on: the looked-at visit's, or
// the live pane.
func (m *Model) searchOut() *output.Model {
	if m.look != nil {
		return &m.lookOut
	}
	return &m.out
}

// lookView is the main pane while looking back.
func (m *Model) lookView(l layout) string {
	s := m.styles
	v := m.look
	st := m.rb.Step(v.Step)
	head := []string{
		visit.Title(v, st, len(m.session.History()), s, l.mainW),
		s.Muted.Render(textblock.Line("←/→ other visits · / search · x explains · esc closes · the session is not changed", l.mainW)),
	}
	// The facts leave at least 6 rows to the output.
	head = append(head, visit.LinesFit(v, st, s, l.mainW, max(l.bodyH-len(head)-2-6, 4))...)
	m.lookOut.SetSize(l.mainW, max(l.bodyH-len(head)-2, 1))
	first, last, total := m.lookOut.Position()
	oh := s.Muted.Render("── output")
	if total > 0 {
		oh += s.Muted.Render(fmt.Sprintf(" · lines %d–%d of %d", first, last, total))
	}
	if t := m.lookOut.SearchTerm(); t != "" {
		i, n := m.lookOut.MatchInfo()
		oh += s.Muted.Render(fmt.Sprintf(" · /%s %d/%d", t, i, n))
	}
	out := m.lookOut.View()
	if total == 0 {
		out = s.Muted.Render("(no output)")
	}
	return strings.Join(head, "\n") + "\n\n" + textblock.Line(oh, l.mainW) + "\n" + out
}

// lookVisit parses a picked visit number.
func lookVisit(v string) int {
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil {
		return 0
	}
	return n
}
