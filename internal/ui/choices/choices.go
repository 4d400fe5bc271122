// Package choices is a short numbered list the operator picks from: answers
// of an ask step, routes to override a decision with, steps to go back to.
// Items can be picked by number (1–9), by y/n when the answers are yes/no,
// or by moving the cursor and pressing enter.
package choices

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/runbook-dev/runbook/internal/ui/keymap"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Item is one choice.
type Item struct {
	Label string // shown (sanitised by New)
	Value string // returned
	Note  string // shown dim after the label, e.g. "chosen automatically"
	// Target is where the choice leads ("10 Does the file exist?"),
	// shown after an arrow so the operator knows before picking.
	Target string
}

// Model is the list.
type Model struct {
	styles styles.Styles
	keys   keymap.KeyMap
	title  string
	items  []Item
	cursor int
	offset int
	width  int
	height int
}

// New builds a list. Labels, notes and the title may come from a runbook
// and are sanitised here. The title keeps its line breaks: a question asked
// once for several hosts of a per-host section is one paragraph per host.
func New(title string, items []Item, st styles.Styles, km keymap.KeyMap) Model {
	m := Model{styles: st, keys: km, title: textblock.ExpandTabs(untrusted.Sanitize(title))}
	for _, it := range items {
		it.Label = untrusted.SanitizeLine(it.Label)
		it.Note = untrusted.SanitizeLine(it.Note)
		it.Target = untrusted.SanitizeLine(it.Target)
		m.items = append(m.items, it)
	}
	return m
}

// SetSize sets the width and the most rows the list may use.
func (m *Model) SetSize(w, h int) { m.width, m.height = max(w, 0), max(h, 0); m.scroll() }

// Items returns the items.
func (m Model) Items() []Item { return m.items }

// SetCursor highlights item i (when there is one).
func (m *Model) SetCursor(i int) {
	if i >= 0 && i < len(m.items) {
		m.cursor = i
		m.scroll()
	}
}

// Cursor is the highlighted index.
func (m Model) Cursor() int { return m.cursor }

// Selected is the highlighted item.
func (m Model) Selected() (Item, bool) {
	if len(m.items) == 0 {
		return Item{}, false
	}
	return m.items[m.cursor], true
}

// Pick maps a pressed key to an item: "1"–"9" by position, "y"/"n" to an
// answer named yes/no (or y/n).
func (m Model) Pick(k string) (Item, bool) {
	if n, err := strconv.Atoi(k); err == nil && len(k) == 1 {
		if n >= 1 && n <= len(m.items) {
			return m.items[n-1], true
		}
		return Item{}, false
	}
	want := map[string][]string{"y": {"yes", "y"}, "n": {"no", "n"}}[k]
	for _, it := range m.items {
		for _, w := range want {
			if strings.EqualFold(it.Value, w) {
				return it, true
			}
		}
	}
	return Item{}, false
}

// Update moves the cursor.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Up):
			m.cursor = max(m.cursor-1, 0)
		case key.Matches(k, m.keys.Down):
			m.cursor = min(m.cursor+1, max(len(m.items)-1, 0))
		}
		m.scroll()
	}
	return m, nil
}

func (m *Model) scroll() {
	rows := m.rows()
	if rows <= 0 {
		return
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
}

func (m Model) rows() int {
	r := len(m.items)
	if m.height > 0 {
		// The title is wrapped, never cut; at least two items stay visible.
		r = min(r, max(m.height-len(m.titleLines()), 2))
	}
	return r
}

// titleLines is the question, wrapped to the width: it is never cut.
func (m Model) titleLines() []string {
	return textblock.WrapLines(m.title, max(m.width, 10))
}

// Height is the rows View draws.
func (m Model) Height() int { return len(m.titleLines()) + m.rows() }

func (m Model) itemStyle(i int) lipgloss.Style {
	if i == m.cursor {
		return m.styles.ChoiceSel
	}
	return m.styles.Choice
}

// View draws the title and the visible items.
func (m Model) View() string {
	w := max(m.width, 10)
	st := m.itemStyle
	var lines []string
	for _, l := range m.titleLines() {
		lines = append(lines, textblock.Line(m.styles.Question.Render(l), w))
	}
	for i := m.offset; i < m.offset+m.rows() && i < len(m.items); i++ {
		it := m.items[i]
		num := " "
		if i < 9 {
			num = fmt.Sprint(i + 1)
		}
		text := st(i).Render(it.Label)
		if it.Target != "" {
			text += m.styles.Muted.Render("  → " + it.Target)
		}
		if it.Note != "" {
			text += "  " + it.Note
		}
		pointer := "  "
		if i == m.cursor {
			pointer = "› "
		}
		lines = append(lines, textblock.Line(pointer+m.styles.ChoiceKey.Render(num)+" "+text, w))
	}
	return strings.Join(lines, "\n")
}
