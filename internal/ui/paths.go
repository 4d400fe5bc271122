package ui

// The divergence view (p): the hosts of a per-host section grouped by the
// path they took and what they answered; → lists a group's hosts, → again
// on a host shows its own visits and output; enter on a group that waits
// acts on that group alone (Session.Select), enter on one of its hosts on
// that host alone, so the operator answers, confirms or overrides one group
// (or one host) at a time. f re-runs a step for
// only the hosts that failed it (Session.RerunFailed).

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/divergence"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/ui/visit"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// openPaths opens the divergence view over the section in progress, else
// over the last section that closed.
func (m *Model) openPaths() tea.Cmd {
	if m.session == nil || m.state == stateRunning {
		m.status.SetMessage("wait for the command to finish, then p shows the per-host paths", false)
		return nil
	}
	paths := m.session.LivePaths()
	var waiting []engine.LaneGroup
	if paths != nil {
		if p := m.prompt; p != nil && p.Section != nil {
			waiting = p.Section.Waiting
		}
	} else if ds := m.session.Divergences(); len(ds) > 0 {
		paths = ds[len(ds)-1].Paths
	}
	if len(paths) == 0 {
		m.status.SetMessage("no per-host section has run yet", false)
		return nil
	}
	m.paths = divergence.New(m.rb, paths, waiting, m.styles)
	m.pathsHost = ""
	m.overlay = overlayPaths
	return nil
}

func (m *Model) pathsKey(k tea.KeyPressMsg) tea.Cmd {
	if m.pathsHost != "" { // a host's own visits, in the pager
		switch {
		case key.Matches(k, m.keys.Close, m.keys.Prev):
			m.pathsHost = ""
		case key.Matches(k, m.keys.Paths, m.keys.Quit):
			m.overlay, m.pathsHost = overlayNone, ""
		default:
			var cmd tea.Cmd
			m.pager, cmd = m.pager.Update(k)
			return cmd
		}
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Up):
		m.paths.Up()
	case key.Matches(k, m.keys.Down):
		m.paths.Down()
	case key.Matches(k, m.keys.Next):
		if !m.paths.Opened() {
			m.paths.Open()
		} else {
			m.drillHost()
		}
	case key.Matches(k, m.keys.Prev):
		m.paths.Close()
	case key.Matches(k, m.keys.Proceed):
		g, host, ok := m.paths.Selected()
		if !ok || len(g.Act) == 0 {
			m.status.SetMessage("these hosts wait for nothing: → lists them", false)
			return nil
		}
		hosts := g.Act
		if host != "" { // in a group's host list: this host alone
			hosts = []string{host}
		}
		m.overlay = overlayNone
		return m.act("acting on "+hostCount(len(hosts)), func(s *engine.Session) error { return s.Select(hosts) })
	case key.Matches(k, m.keys.Close):
		if !m.paths.Close() {
			m.overlay = overlayNone
		}
	case key.Matches(k, m.keys.Paths, m.keys.Quit):
		m.overlay = overlayNone
	}
	return nil
}

func hostCount(n int) string {
	if n == 1 {
		return "1 host"
	}
	return strconv.Itoa(n) + " hosts"
}

// drillHost shows the opened host's own visits and output in the pager.
func (m *Model) drillHost() {
	_, host, ok := m.paths.Selected()
	if !ok || host == "" {
		return
	}
	w := max(m.computeLayout().mainW, 20)
	var b strings.Builder
	vs := m.session.HostVisits(host)
	for _, v := range vs {
		st := m.rb.Step(v.Step)
		b.WriteString(visit.Title(v, st, len(vs), m.styles, w) + "\n")
		for _, l := range visit.Lines(v, st, m.styles, w) {
			b.WriteString(l + "\n")
		}
		for _, r := range v.Results {
			if out := strings.TrimRight(r.Stdout+r.Stderr, "\n"); out != "" {
				for _, l := range strings.Split(untrusted.Sanitize(out), "\n") {
					b.WriteString(textblock.Line("  "+l, w) + "\n")
				}
			}
		}
		b.WriteString("\n")
	}
	if len(vs) == 0 {
		b.WriteString(m.styles.Muted.Render("no visits of its own recorded for this host"))
	}
	m.pathsHost = host
	m.pager.SetContent(b.String())
	m.pager.GotoTop()
}

func (m *Model) pathsView(l layout) string {
	if m.pathsHost != "" {
		head := m.styles.Title.Render("Host "+untrusted.SanitizeLine(m.pathsHost)) + "  " + m.styles.Muted.Render("its own path · ↓ scrolls · esc back to the groups")
		return textblock.Line(head, l.mainW) + "\n" + m.pager.View()
	}
	return m.paths.View(l.mainW, l.bodyH)
}

// rerunFailed re-runs the current step for the hosts that failed it.
func (m *Model) rerunFailed() tea.Cmd {
	failed := m.session.FailedHosts()
	if len(failed) == 0 {
		m.status.SetMessage("no host failed this step: r re-runs it for all", false)
		return nil
	}
	return m.act("re-running on "+hostCount(len(failed))+" that failed", (*engine.Session).RerunFailed)
}

// sectionLine says, inside a per-host section, whose prompt this is and
// who else waits: "per-host · for 2 hosts: h2, h4 · 1 more set waits · 3
// re-joined at summary · p shows the paths".
func sectionLine(p *engine.Prompt, s styles.Styles, w int) string {
	var names []string
	for _, h := range p.Hosts {
		names = append(names, h.Name)
	}
	line := "per-host · for " + hostCount(len(p.Hosts)) + ": " + strings.Join(names, ", ")
	if n := len(p.Section.Waiting) - 1; n > 0 {
		line += " · " + strconv.Itoa(n) + " more set(s) wait elsewhere"
	}
	if n := len(p.Section.Joined); n > 0 {
		line += " · " + hostCount(n) + " re-joined at " + p.Section.Join
	}
	line += " · p shows the paths"
	return s.Info.Render(textblock.Wrap(untrusted.SanitizeLine(line), w))
}
