// Package keymap holds the one KeyMap of the TUI. Components receive the
// bindings they need from it; the help screen lists it.
package keymap

import "charm.land/bubbles/v2/key"

// KeyMap is every key the operator can press.
type KeyMap struct {
	Proceed  key.Binding // run the probe / follow the decision / submit
	Yes      key.Binding
	No       key.Binding
	Choose   key.Binding // 1-9
	Rerun    key.Binding
	Edit     key.Binding
	Override key.Binding
	Skip     key.Binding // a step whose host timed out: go on by its else/next, with a reason
	ReAuth   key.Binding // an authentication failure: retry after re-authenticating
	Back     key.Binding
	Note     key.Binding
	Done     key.Binding // manual step done
	Tree     key.Binding
	Look     key.Binding // look back at a visited step, read-only
	Prev     key.Binding // the previous visit (look-back)
	Next     key.Binding // the next visit (look-back)
	Search   key.Binding
	Help     key.Binding
	Quit     key.Binding
	Cancel   key.Binding // ctrl+c
	Export   key.Binding // bundle export from the quit dialog
	Explain  key.Binding // why the current (or looked-at) decision went where it went
	Copy     key.Binding // copy the explanation as plain text (OSC 52)
	Palette  key.Binding // the command palette: every action of this screen, filtered
	// RerunFailed: re-run a group step for only the hosts that failed it.
	RerunFailed key.Binding
	Paths       key.Binding // per-host paths: hosts grouped by the path they took

	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Close    key.Binding // esc: close an overlay or input
}

// DefaultKeyMap is the key layout described in the runbook documentation.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Proceed:     b([]string{"enter"}, "enter", "run / proceed"),
		Yes:         b([]string{"y"}, "y", "yes / confirm"),
		No:          b([]string{"n"}, "n", "no / decline"),
		Choose:      b([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "1-9", "pick a choice"),
		Rerun:       b([]string{"r"}, "r", "re-run / retry"),
		Edit:        b([]string{"e"}, "e", "edit command"),
		Override:    b([]string{"o"}, "o", "override decision"),
		Skip:        b([]string{"s"}, "s", "skip (timed-out step)"),
		ReAuth:      b([]string{"a"}, "a", "re-authenticate"),
		Back:        b([]string{"b"}, "b", "back to a step"),
		Note:        b([]string{"N"}, "N", "add a note"),
		Done:        b([]string{"d"}, "d", "done (manual step)"),
		Tree:        b([]string{"g"}, "g", "tree view"),
		Look:        b([]string{"v"}, "v", "look back at a visited step (read-only)"),
		Prev:        b([]string{"left", "h"}, "←/h", "previous visit (look-back)"),
		Next:        b([]string{"right", "l"}, "→/l", "next visit (look-back)"),
		Search:      b([]string{"/"}, "/", "search output"),
		Help:        b([]string{"?"}, "?", "help"),
		Quit:        b([]string{"q"}, "q", "quit"),
		Cancel:      b([]string{"ctrl+c"}, "ctrl+c", "cancel command · twice: interrupt (resumable)"),
		Export:      b([]string{"x"}, "x", "export the bundle, then quit (quit dialog)"),
		Explain:     b([]string{"x"}, "x", "explain the decision: tests, values read, route, who"),
		Copy:        b([]string{"y"}, "y", "copy the explanation as plain text (explain view)"),
		Palette:     b([]string{":"}, ":", "command palette (type to filter, enter runs)"),
		RerunFailed: b([]string{"f"}, "f", "re-run for the failed hosts only"),
		Paths:       b([]string{"p"}, "p", "per-host paths: hosts by the path they took"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "scroll output up"),
		PageDown: b([]string{"pgdown", "ctrl+d", " "}, "pgdn", "scroll output down"),
		Top:      b([]string{"home"}, "home", "output top"),
		Bottom:   b([]string{"end", "G"}, "end/G", "output end (follow)"),
		Close:    b([]string{"esc"}, "esc", "close / cancel"),
	}
}

// FullHelp groups every binding for the help screen.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Proceed, k.Yes, k.No, k.Choose, k.Done, k.Rerun, k.RerunFailed, k.Edit, k.Override, k.Skip, k.ReAuth},
		{k.Back, k.Note, k.Tree, k.Look, k.Paths, k.Prev, k.Next, k.Explain, k.Copy, k.Search, k.Palette, k.Help, k.Quit, k.Export, k.Cancel},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Close},
	}
}

// ShortHelp satisfies help.KeyMap; the status bar picks its own hints per state.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Proceed, k.Back, k.Note, k.Help, k.Quit}
}
