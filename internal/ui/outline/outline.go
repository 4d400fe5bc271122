// Package outline is the left pane: every step of the runbook with its vendor
// ref and title, the current step highlighted, the path taken marked, the
// steps not visited yet dim. It scrolls to keep the current step in view.
package outline

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Mark is what happened at a step on the path.
type Mark uint8

const (
	Unvisited Mark = iota
	Visited        // entered, nothing decided yet (or routed without a probe)
	Passed         // probe exit 0 / fix ran / manual done
	Failed         // non-zero exit, transport error, declined fix
	Answered       // an ask was answered
)

// Glyph is the mark's symbol: meaning never rests on colour alone.
func (k Mark) Glyph() string {
	switch k {
	case Visited:
		return "○"
	case Passed:
		return "✓"
	case Failed:
		return "✗"
	case Answered:
		return "●"
	}
	return " "
}

type row struct {
	id, ref, title string
}

// Model is the outline pane.
type Model struct {
	styles  styles.Styles
	rows    []row
	refW    int // the widest ref: refs are never cut while they fit half the pane
	marks   map[string]Mark
	current string

	width, height int
	offset        int
}

// New builds the outline of a runbook. Titles are sanitised here, once.
func New(rb *engine.Runbook, st styles.Styles) Model {
	m := Model{styles: st, marks: map[string]Mark{}}
	for _, s := range rb.Steps {
		r := row{id: s.ID, ref: untrusted.SanitizeLine(s.Ref), title: untrusted.SanitizeLine(s.Name())}
		m.refW = max(m.refW, ansi.StringWidth(r.ref))
		m.rows = append(m.rows, r)
	}
	return m
}

// SetStyles changes the styles.
func (m *Model) SetStyles(st styles.Styles) { m.styles = st }

// SetSize sets the pane size.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.scrollToCurrent()
}

// SetMark records what happened at a step.
func (m *Model) SetMark(id string, k Mark) { m.marks[id] = k }

// SetMarks replaces every mark (rebuilt from the session history).
func (m *Model) SetMarks(marks map[string]Mark) { m.marks = marks }

// Mark returns a step's mark.
func (m Model) Mark(id string) Mark { return m.marks[id] }

// SetCurrent moves the highlight and scrolls it into view.
func (m *Model) SetCurrent(id string) {
	m.current = id
	m.scrollToCurrent()
}

// Current is the highlighted step id.
func (m Model) Current() string { return m.current }

func (m *Model) scrollToCurrent() {
	if m.height <= 0 {
		return
	}
	cur := -1
	for i, r := range m.rows {
		if r.id == m.current {
			cur = i
		}
	}
	if cur < 0 {
		return
	}
	margin := min(2, (m.height-1)/2)
	if cur < m.offset+margin {
		m.offset = max(cur-margin, 0)
	}
	if cur > m.offset+m.height-1-margin {
		m.offset = cur - m.height + 1 + margin
	}
	m.offset = max(min(m.offset, len(m.rows)-m.height), 0)
}

// View draws exactly width×height cells.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var b strings.Builder
	end := min(m.offset+m.height, len(m.rows))
	for i := m.offset; i < end; i++ {
		r := m.rows[i]
		mark := m.marks[r.id]
		glyph := mark.Glyph()
		if r.id == m.current {
			glyph = "▶"
		}
		// Refs stay whole ("Диагностика", "12.2"): titles give way first,
		// down to a few cells.
		ref := textblock.Line(r.ref, min(m.refW, max(m.width-8, 1)))
		line := textblock.Line(glyph+" "+ref+" "+r.title, m.width)
		st := m.styles.OutlineVisited
		switch {
		case r.id == m.current:
			st = m.styles.OutlineCurrent
		case mark == Unvisited:
			st = m.styles.OutlineUnvisited
		case mark == Passed:
			st = m.styles.OutlinePassed
		case mark == Failed:
			st = m.styles.OutlineFailed
		case mark == Answered:
			st = m.styles.OutlineAnswered
		}
		if i > m.offset {
			b.WriteByte('\n')
		}
		b.WriteString(st.Render(line))
	}
	out := b.String()
	return textblock.Block(out, m.width, m.height)
}
