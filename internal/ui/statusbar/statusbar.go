// Package statusbar is the bottom of the screen: the runbook, every bound
// target with its connection state, a message line, and the keys that work
// right now.
package statusbar

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Conn is what we know about a host's connection.
type Conn uint8

const (
	Unknown   Conn = iota // nothing ran there yet
	Connected             // a command completed there
	Broken                // the transport failed there
)

type target struct {
	role, host string
	conn       Conn
}

// Model is the status bar. It is two rows high.
type Model struct {
	styles  styles.Styles
	runbook string
	targets []target
	hints   []key.Binding
	banner  string
	msg     string
	msgErr  bool
	width   int
}

// Height is the number of rows the bar takes.
const Height = 2

// maxNamedTargets: a role with more hosts than this shows as a count.
const maxNamedTargets = 4

// New builds the bar for a runbook and its bound targets.
func New(rb *engine.Runbook, targets map[string][]engine.Host, st styles.Styles) Model {
	m := Model{styles: st, runbook: untrusted.SanitizeLine(rb.ID)}
	roles := engine.SortedKeys(targets)
	sort.Strings(roles)
	for _, role := range roles {
		for _, h := range targets[role] {
			m.targets = append(m.targets, target{role: untrusted.SanitizeLine(role), host: untrusted.SanitizeLine(h.Name)})
		}
	}
	return m
}

// SetStyles changes the styles.
func (m *Model) SetStyles(st styles.Styles) { m.styles = st }

// SetSize sets the width.
func (m *Model) SetSize(w, _ int) { m.width = max(w, 0) }

// SetConn records a host's connection state.
func (m *Model) SetConn(host string, c Conn) {
	host = untrusted.SanitizeLine(host)
	for i := range m.targets {
		if m.targets[i].host == host {
			m.targets[i].conn = c
		}
	}
}

// SetBanner sets a label that stays on screen whatever else the bar
// shows, e.g. "demo · scenario NAME · simulated hosts" (sanitised here).
func (m *Model) SetBanner(b string) { m.banner = untrusted.SanitizeLine(b) }

// SetHints sets the keys shown.
func (m *Model) SetHints(h []key.Binding) { m.hints = h }

// SetMessage shows a message (sanitised here); isErr styles it as a problem.
func (m *Model) SetMessage(msg string, isErr bool) {
	m.msg, m.msgErr = untrusted.SanitizeLine(msg), isErr
}

// Message is the current message.
func (m Model) Message() string { return m.msg }

// View draws exactly width×2 cells.
func (m Model) View() string {
	if m.width <= 0 {
		return ""
	}
	s := m.styles
	sep := s.StatusDesc.Render(" │ ")
	var top []string
	top = append(top, s.StatusTitle.Render(" "+m.runbook))
	// The banner is never cut for a message or a target: it sits first.
	var banner string
	if m.banner != "" {
		banner = s.StatusBanner.Render(" "+m.banner+" ") + s.StatusBar.Render(" ")
	}
	// A role with many hosts is one summary ("nodes: 1000 hosts ●998 ✗2"):
	// a fleet must not make every frame draw, then cut, a thousand names.
	count := map[string]int{}
	for _, t := range m.targets {
		count[t.role]++
	}
	shown := map[string]bool{}
	used := 0
	for _, t := range m.targets {
		if used > m.width {
			break // cut anyway: what is drawn past the edge is never seen
		}
		var item string
		if n := count[t.role]; n > maxNamedTargets {
			if shown[t.role] {
				continue
			}
			shown[t.role] = true
			var ok, bad, idle int
			for _, u := range m.targets {
				if u.role != t.role {
					continue
				}
				switch u.conn {
				case Connected:
					ok++
				case Broken:
					bad++
				default:
					idle++
				}
			}
			item = s.StatusBar.Render(fmt.Sprintf("%s: %d hosts ", t.role, n)) + s.StatusOK.Render(fmt.Sprintf("●%d", ok))
			if bad > 0 {
				item += s.StatusBad.Render(fmt.Sprintf(" ✗%d", bad))
			}
			if idle > 0 {
				item += s.StatusDesc.Render(fmt.Sprintf(" ○%d", idle))
			}
		} else {
			var conn string
			switch t.conn {
			case Connected:
				conn = s.StatusOK.Render("●")
			case Broken:
				conn = s.StatusBad.Render("✗")
			default:
				conn = s.StatusDesc.Render("○")
			}
			item = s.StatusBar.Render(t.role+"="+t.host+" ") + conn
		}
		used += len(t.role) + len(t.host) + 6
		top = append(top, item)
	}
	line1 := strings.Join(top, sep)
	room1 := m.width - ansi.StringWidth(banner)
	if m.msg != "" {
		st := s.StatusBar
		if m.msgErr {
			st = s.StatusError
		}
		// The message wins the space: targets are cut first.
		msg := st.Render(m.msg + " ")
		room := room1 - ansi.StringWidth(msg) - 3
		if room < 10 {
			line1 = msg
		} else {
			line1 = textblock.Line(line1, room) + sep + msg
		}
	}
	var hs []string
	for _, h := range m.hints {
		if !h.Enabled() {
			continue
		}
		hs = append(hs, s.StatusKey.Render(h.Help().Key)+s.StatusBar.Render(" ")+s.StatusDesc.Render(h.Help().Desc))
	}
	line2 := s.StatusBar.Render(" ") + strings.Join(hs, s.StatusBar.Render("  "))
	return s.StatusBar.Render(textblock.Line(banner+textblock.Line(line1, max(room1, 0)), m.width)) + "\n" + s.StatusBar.Render(textblock.Line(line2, m.width))
}
