// Package divergence draws the divergence view: the hosts of a per-host
// section grouped by the path they took and what they answered, one line
// per group ("38 hosts  ping → ok"), the sets still waiting marked with
// where they wait. One group opens to list its hosts; the root drills into
// a host (its own visits and output) and acts on one waiting group at a
// time (Session.Select). Nothing here touches the session.
package divergence

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Group is one line of the view.
type Group struct {
	Path  string   // "ping → cable=yes → restart"
	Label string   // where it differs: "4 (ping failed)"
	Hosts []string // in host order
	// Waiting: the group's hosts wait at this point of a section in
	// progress ("cable (ask)"); enter acts on them. Empty once joined.
	Waiting string
	Act     []string // the hosts Session.Select takes for this group
}

// Model is the view's state: groups, the cursor, the opened group.
type Model struct {
	title  string
	groups []Group
	cursor int
	open   bool // the cursor's group lists its hosts
	host   int  // the cursor in the opened group
	styles styles.Styles
}

// New builds the view from each host's path and, for a section in
// progress, the sets of hosts waiting (Prompt.Section.Waiting).
func New(rb *engine.Runbook, paths []engine.HostPath, waiting []engine.LaneGroup, st styles.Styles) Model {
	m := Model{title: engine.Divergence(rb, paths), styles: st}
	if len(waiting) > 0 {
		// A section in progress: where the hosts are now says more than
		// the paths so far.
		var parts []string
		for _, g := range waiting {
			at := g.Step + " (" + string(g.Kind) + ")"
			if g.Next != "" {
				at += " → " + g.Next
			}
			parts = append(parts, fmt.Sprintf("%d at %s", len(g.Hosts), at))
		}
		m.title = fmt.Sprintf("%d hosts, still apart: ", len(paths)) + strings.Join(parts, " · ")
	}
	wait := map[string]engine.LaneGroup{}
	for _, g := range waiting {
		for _, h := range g.Hosts {
			wait[h] = g
		}
	}
	for _, g := range engine.GroupPaths(rb, paths) {
		// A path group splits when its hosts wait at different points.
		var order []string
		by := map[string][]string{}
		for _, h := range g.Hosts {
			k := ""
			if w, ok := wait[h]; ok {
				k = w.Step + " (" + string(w.Kind) + ")"
				if w.Next != "" {
					k += " → " + w.Next
				}
			}
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], h)
		}
		for _, k := range order {
			gr := Group{Path: engine.PathText(g.Steps), Label: g.Label, Hosts: by[k], Waiting: k}
			if k != "" {
				gr.Act = by[k]
			}
			m.groups = append(m.groups, gr)
		}
	}
	return m
}

// Groups are the view's lines (for tests and the root).
func (m Model) Groups() []Group { return m.groups }

// Up and Down move the cursor (in the opened group's hosts when open).
func (m *Model) Up() {
	if m.open {
		m.host = max(m.host-1, 0)
		return
	}
	m.cursor = max(m.cursor-1, 0)
}

func (m *Model) Down() {
	if m.open {
		m.host = min(m.host+1, len(m.groups[m.cursor].Hosts)-1)
		return
	}
	m.cursor = min(m.cursor+1, len(m.groups)-1)
}

// Open lists the cursor group's hosts; Close goes back to the groups.
// Close reports whether there was something to close.
func (m *Model) Open() {
	if len(m.groups) > 0 {
		m.open, m.host = true, 0
	}
}

func (m *Model) Close() bool {
	was := m.open
	m.open = false
	return was
}

// Opened reports whether a group lists its hosts.
func (m Model) Opened() bool { return m.open }

// Selected is the group under the cursor and, when it is open, the host.
func (m Model) Selected() (Group, string, bool) {
	if len(m.groups) == 0 {
		return Group{}, "", false
	}
	g := m.groups[m.cursor]
	if m.open {
		return g, g.Hosts[m.host], true
	}
	return g, "", true
}

// maxNamed bounds the host names on a group's line (the rest is "+N").
const maxNamed = 64

// View draws the view in w columns and h lines. Its cost does not grow
// with the number of hosts beyond the lines shown: each line names at most
// as many hosts as fit.
func (m Model) View(w, h int) string {
	s := m.styles
	var out []string
	out = append(out, textblock.Line(s.Title.Render("Per-host paths")+" "+s.Muted.Render("↑/↓ group · → its hosts · enter acts on a waiting group · esc closes"), w))
	for _, l := range textblock.WrapLines(untrusted.SanitizeLine(m.title), w) {
		if len(out) >= 3 {
			break
		}
		out = append(out, l)
	}
	out = append(out, "")
	rows := max(h-len(out), 1)
	if m.open {
		g := m.groups[m.cursor]
		hint := " · → its own output"
		if len(g.Act) > 0 {
			hint += " · enter acts on this host alone"
		}
		out = append(out, textblock.Line(s.Title.Render(fmt.Sprintf("%d hosts", len(g.Hosts)))+" "+untrusted.SanitizeLine(g.Path)+s.Muted.Render(hint), w))
		rows--
		first := window(m.host, len(g.Hosts), rows)
		for i := first; i < len(g.Hosts) && i < first+rows; i++ {
			mark := "  "
			if i == m.host {
				mark = s.ChoiceSel.Render("▶ ")
			}
			out = append(out, textblock.Line(mark+untrusted.SanitizeLine(g.Hosts[i]), w))
		}
		return strings.Join(out, "\n")
	}
	// Two lines a group: its path (and where it waits), then its hosts.
	per := max(rows/2, 1)
	first := window(m.cursor, len(m.groups), per)
	for i := first; i < len(m.groups) && i < first+per; i++ {
		g := m.groups[i]
		mark := "  "
		if i == m.cursor {
			mark = s.ChoiceSel.Render("▶ ")
		}
		line := mark + s.Title.Render(fmt.Sprintf("%4d", len(g.Hosts))) + " " + untrusted.SanitizeLine(g.Path)
		if g.Waiting != "" {
			line += s.Warning.Render(" · waits at " + untrusted.SanitizeLine(g.Waiting))
		}
		out = append(out, textblock.Line(line, w), textblock.Line("       "+s.Muted.Render(names(g.Hosts, w)), w))
	}
	return strings.Join(out, "\n")
}

// window is the first row shown so that the cursor stays visible.
func window(cursor, n, rows int) int {
	if n <= rows || cursor < rows/2 {
		return 0
	}
	return min(cursor-rows/2, n-rows)
}

// names lists hosts up to what a line of w columns can show.
func names(hosts []string, w int) string {
	var b strings.Builder
	for i, h := range hosts {
		if i == maxNamed || b.Len() > w {
			fmt.Fprintf(&b, " +%d", len(hosts)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(untrusted.SanitizeLine(h))
	}
	return b.String()
}
