// Package palette is the command palette (:): a text field and the actions
// the current screen offers, fuzzy-filtered as the operator types. The root
// builds the items from the one keymap (only what works on this screen) and
// runs the picked one as if its key had been pressed, so the palette can
// never do what the keys cannot.
package palette

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Item is one action: the key that does it and what it does.
type Item struct {
	Key    string // the key sent when picked ("o", "enter", "1")
	Help   string // the key as shown ("↑/k")
	Desc   string // what it does here ("override the decision")
	Detail string // the keymap's longer description, when it says more
}

// Model is the palette.
type Model struct {
	styles styles.Styles
	ti     textinput.Model
	items  []Item
	shown  []int // indexes into items, best match first
	cursor int
	width  int
	height int
}

// New opens the palette on items, with an empty filter.
func New(items []Item, st styles.Styles) Model {
	ti := textinput.New()
	ti.Prompt = ": "
	ti.Placeholder = "type to filter · ↑/↓ choose · enter runs · esc closes"
	ti.CharLimit = 64
	tis := textinput.DefaultStyles(st.IsDark)
	tis.Cursor.Blink = false
	ti.SetStyles(tis)
	ti.Focus()
	m := Model{styles: st, ti: ti}
	for _, it := range items {
		it.Desc = untrusted.SanitizeLine(it.Desc)
		it.Detail = untrusted.SanitizeLine(it.Detail)
		m.items = append(m.items, it)
	}
	m.filter()
	return m
}

// SetSize sets the width and the most rows the palette may use.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 10), max(h, 3)
	m.ti.SetWidth(max(w-4, 4))
}

// Term is the filter as typed.
func (m Model) Term() string { return m.ti.Value() }

// Shown are the items that match, best first.
func (m Model) Shown() []Item {
	out := make([]Item, len(m.shown))
	for i, j := range m.shown {
		out[i] = m.items[j]
	}
	return out
}

// Selected is the highlighted match.
func (m Model) Selected() (Item, bool) {
	if len(m.shown) == 0 {
		return Item{}, false
	}
	return m.items[m.shown[m.cursor]], true
}

// Update moves the cursor (↑/↓, ctrl+p/ctrl+n, tab) or edits the filter.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "up", "ctrl+p", "shift+tab":
			if m.cursor > 0 {
				m.cursor--
			}
			return m, nil
		case "down", "ctrl+n", "tab":
			if m.cursor < len(m.shown)-1 {
				m.cursor++
			}
			return m, nil
		}
	}
	before := m.ti.Value()
	var cmd tea.Cmd
	m.ti, cmd = m.ti.Update(msg)
	if m.ti.Value() != before {
		m.filter()
	}
	return m, cmd
}

func (m *Model) filter() {
	term := strings.TrimSpace(m.ti.Value())
	type scored struct{ i, score int }
	var hits []scored
	for i, it := range m.items {
		// What it does here counts most, then the keymap's words, then
		// the key itself.
		best, any := 0, false
		for j, text := range []string{it.Desc, it.Detail, it.Help} {
			if sc, ok := Score(term, text); ok && text != "" {
				sc += 20 * (2 - j)
				if !any || sc > best {
					best, any = sc, true
				}
			}
		}
		if any {
			hits = append(hits, scored{i, best})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
	m.shown = m.shown[:0]
	for _, h := range hits {
		m.shown = append(m.shown, h.i)
	}
	m.cursor = 0
}

// Score is a fuzzy match of term in s: every rune of term in order,
// case-insensitive. Higher is better: runs of adjacent runes and matches at
// the start of words count more. An empty term matches everything.
func Score(term, s string) (int, bool) {
	t := []rune(strings.ToLower(term))
	if len(t) == 0 {
		return 0, true
	}
	r := []rune(strings.ToLower(s))
	score, ti, prev := 0, 0, -2
	for i := 0; i < len(r) && ti < len(t); i++ {
		if r[i] != t[ti] {
			continue
		}
		score++
		if i == prev+1 {
			score += 3
		} else if prev >= 0 {
			score -= min(i-prev-1, 5) // a gap between matched runes
		}
		if i == 0 || !unicode.IsLetter(r[i-1]) && !unicode.IsDigit(r[i-1]) {
			score += 2
		}
		prev = i
		ti++
	}
	if ti < len(t) {
		return 0, false
	}
	return score, true
}

// View draws the field and the matches that fit.
func (m Model) View() string {
	s := m.styles
	lines := []string{s.Question.Render("Command palette") + s.Muted.Render(" · the actions of this screen"), m.ti.View()}
	rows := max(m.height-len(lines)-1, 1)
	if len(m.shown) == 0 {
		lines = append(lines, s.Muted.Render("  no action matches; backspace widens, esc closes"))
		return strings.Join(lines, "\n")
	}
	first := 0
	if m.cursor >= rows {
		first = m.cursor - rows + 1
	}
	for n := first; n < len(m.shown) && n < first+rows; n++ {
		it := m.items[m.shown[n]]
		text := fmt.Sprintf("%-7s %s", it.Help, it.Desc)
		if it.Detail != "" && it.Detail != it.Desc {
			text += s.Muted.Render(" — " + it.Detail)
		}
		prefix, st := "  ", s.Choice
		if n == m.cursor {
			prefix, st = "▸ ", s.ChoiceSel
		}
		lines = append(lines, st.Render(textblock.Line(prefix+text, m.width)))
	}
	if len(m.shown) > rows {
		lines = append(lines, s.Muted.Render(fmt.Sprintf("  %d of %d · ↑/↓ for more", min(rows, len(m.shown)), len(m.shown))))
	}
	return strings.Join(lines, "\n")
}
