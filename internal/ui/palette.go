package ui

// The command palette (:): every action the current screen offers, built
// from the keymap through the same per-screen list the status bar shows
// (hints) plus what works everywhere, fuzzy-filtered as the operator types.
// A picked action runs as its key press, through onKey: the palette offers
// nothing the keys do not, and nothing they refuse here.

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/palette"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
)

// paletteScreens are the overlays the palette opens over (pickers and
// inputs read ':' as a character or an answer).
func (m *Model) paletteAllowed() bool {
	switch m.overlay {
	case overlayNone, overlayLook, overlayTree, overlayHelp, overlayExplain:
		return true
	}
	return false
}

func (m *Model) openPalette() tea.Cmd {
	if !m.paletteAllowed() {
		return nil
	}
	m.x.palFrom = m.overlay
	m.x.pal = palette.New(m.offers(), m.styles)
	m.overlay = overlayPalette
	return nil
}

func (m *Model) paletteKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Close):
		m.overlay = m.x.palFrom
		return nil
	case key.Matches(k, m.keys.Proceed):
		it, ok := m.x.pal.Selected()
		m.overlay = m.x.palFrom
		if !ok {
			return nil
		}
		return m.onKey(keyPress(it.Key))
	}
	var cmd tea.Cmd
	m.x.pal, cmd = m.x.pal.Update(k)
	return cmd
}

// offers are the actions of the current screen: the status bar's keys for
// it, then those that work on every screen, each once; an ask step's
// answers one by one.
func (m *Model) offers() []palette.Item {
	k := m.keys
	bs := m.hints()
	switch m.overlay {
	case overlayNone:
		if m.state != stateLoading {
			bs = append(bs, k.Explain, k.Look, k.Tree, k.Help)
			if m.state != stateDone {
				bs = append(bs, k.Search)
			}
			if m.state == stateAsking && m.prompt != nil && m.prompt.Kind == engine.PromptRun {
				bs = append(bs, k.Up, k.Down)
			}
			bs = append(bs, k.PageUp, k.PageDown, k.Top, k.Bottom)
			if m.session != nil && !m.x.replay && m.state != stateDone {
				bs = append(bs, k.Note)
			}
			bs = append(bs, k.Quit)
		}
	case overlayLook:
		bs = append(bs, k.Explain, k.Up, k.PageUp, k.PageDown, k.Top, k.Bottom)
	case overlayExplain:
		bs = []key.Binding{k.Copy, k.Down, k.Up, k.Close}
	}
	var items []palette.Item
	seen := map[string]bool{}
	for _, b := range bs {
		keys := b.Keys()
		if len(keys) == 0 || seen[keys[0]] || !b.Enabled() || keys[0] == k.Palette.Keys()[0] {
			continue
		}
		seen[keys[0]] = true
		if key.Matches(keyPress(keys[0]), k.Choose) && m.overlay == overlayNone && m.hasChoices() {
			for i, it := range m.choices.Items() {
				if i >= 9 {
					break
				}
				desc := "answer " + it.Label
				if it.Target != "" {
					desc += " → " + it.Target
				}
				n := string(rune('1' + i))
				items = append(items, palette.Item{Key: n, Help: n, Desc: desc})
			}
			continue
		}
		items = append(items, palette.Item{Key: keys[0], Help: b.Help().Key, Desc: b.Help().Desc, Detail: m.keyDetail(b)})
	}
	return items
}

func (m *Model) hasChoices() bool {
	p := m.prompt
	return m.state == stateAsking && p != nil && (p.Kind == engine.PromptAsk || (p.Kind == engine.PromptManual && len(p.Choices) > 0))
}

// keyDetail is the keymap's own description of the binding b stands for.
func (m *Model) keyDetail(b key.Binding) string {
	for _, group := range m.keys.FullHelp() {
		for _, kb := range group {
			if kb.Help().Key == b.Help().Key && strings.Join(kb.Keys(), " ") == strings.Join(b.Keys(), " ") {
				if kb.Help().Key == m.keys.Export.Help().Key && kb.Help().Desc == m.keys.Export.Help().Desc && m.overlay != overlayQuit {
					continue // x is explain outside the quit dialog
				}
				return kb.Help().Desc
			}
		}
	}
	return ""
}

// keyPress is the key press a binding's key name stands for.
func keyPress(k string) tea.KeyPressMsg {
	named := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "up": tea.KeyUp, "down": tea.KeyDown,
		"left": tea.KeyLeft, "right": tea.KeyRight, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
		"home": tea.KeyHome, "end": tea.KeyEnd, "backspace": tea.KeyBackspace, "tab": tea.KeyTab,
		"space": tea.KeySpace,
	}
	if c, ok := named[k]; ok {
		return tea.KeyPressMsg{Code: c}
	}
	if rest, ok := strings.CutPrefix(k, "ctrl+"); ok && len(rest) == 1 {
		return tea.KeyPressMsg{Code: rune(rest[0]), Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) == 1 {
		return tea.KeyPressMsg{Code: r[0], Text: k}
	}
	return tea.KeyPressMsg{}
}

// paletteView is the main pane while the palette is open: the palette at
// the bottom, like every prompt.
func (m *Model) paletteView(l layout) string {
	m.x.pal.SetSize(l.mainW, max(l.bodyH-2, 6))
	body := m.styles.Muted.Render(textblock.Line("the palette runs the action as if its key was pressed", l.mainW))
	view := m.x.pal.View()
	room := l.bodyH - textblock.Height(view) - 1
	return textblock.Block(body, l.mainW, max(room, 0)) + "\n\n" + view
}
