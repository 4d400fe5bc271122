// Package steppane is the top of the main pane: the step's ref and title,
// its markdown doc (rendered by glamour), and exactly what will run and
// where: `root@flink-a $ df -hl /srv`, with sudo marked.
package steppane

import (
	"fmt"
	"strings"

	"charm.land/glamour/v2"
	gstyles "charm.land/glamour/v2/styles"
	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/collect"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// maxCommandRows bounds how much of a long script is shown; `e` shows all.
const maxCommandRows = 6

// Model is the step header.
type Model struct {
	styles  styles.Styles
	step    *engine.Step
	hosts   []engine.Host
	command string
	edited  bool
	plan    []engine.CollectPlan // a collect step's items, per host
	text    string               // filled-in instructions (Prompt.Text)
	item    string               // the for_each item of a called step ("slot 2 of 3: 7")
	width   int
	maxRows int

	md *markdown // shared cache: glamour renderers are costly to build
}

// markdown caches renderers by width and rendered docs by step and width.
type markdown struct {
	renderers map[int]*glamour.TermRenderer
	docs      map[string]string
	style     string
}

// New returns an empty pane.
func New(st styles.Styles) Model {
	return Model{styles: st, md: &markdown{renderers: map[int]*glamour.TermRenderer{}, docs: map[string]string{}, style: st.Markdown}}
}

// SetStyles changes the styles (and the markdown theme).
func (m *Model) SetStyles(st styles.Styles) {
	m.styles = st
	if st.Markdown != m.md.style {
		m.md = &markdown{renderers: map[int]*glamour.TermRenderer{}, docs: map[string]string{}, style: st.Markdown}
	}
}

// SetSize sets the width and the most rows the pane may use.
func (m *Model) SetSize(w, h int) { m.width, m.maxRows = max(w, 0), max(h, 0) }

// SetStep shows a step, the hosts it runs on and its rendered command
// (empty when it runs nothing).
func (m *Model) SetStep(st *engine.Step, hosts []engine.Host, command string, edited bool) {
	if m.step == nil || st == nil || m.step.ID != st.ID {
		m.plan, m.item = nil, ""
	}
	m.step, m.hosts, m.command, m.edited, m.text = st, hosts, command, edited, ""
}

// SetItem shows which item of a for_each call the step runs for (the
// step's entry event says: engine.Session.ItemLabel).
func (m *Model) SetItem(label string) { m.item = label }

// SetPlan shows what a collect step gathers (kept until another step).
func (m *Model) SetPlan(plan []engine.CollectPlan) { m.plan = plan }

// SetText sets the step's instructions as the session filled them in
// (Prompt.Text); without it the manual text is shown as written.
func (m *Model) SetText(text string) { m.text = text }

// Step is the step shown.
func (m Model) Step() *engine.Step { return m.step }

// Markdown renders runbook markdown at width w, sanitised first. Rendered
// text is cached by key.
func (m Model) Markdown(cacheKey, src string, w int) string {
	if src == "" || w <= 0 {
		return ""
	}
	k := fmt.Sprintf("%s\x00%d", cacheKey, w)
	if s, ok := m.md.docs[k]; ok {
		return s
	}
	out := m.render(untrusted.Sanitize(src), w)
	m.md.docs[k] = out
	return out
}

func (m Model) render(src string, w int) string {
	r := m.md.renderers[w]
	if r == nil {
		cfg, ok := gstyles.DefaultStyles[m.md.style]
		if !ok {
			cfg = gstyles.DefaultStyles[gstyles.NoTTYStyle]
		}
		c := *cfg
		zero := uint(0)
		c.Document.Margin = &zero // the pane has its own padding
		var err error
		r, err = glamour.NewTermRenderer(glamour.WithStyles(c), glamour.WithWordWrap(w))
		if err != nil {
			return textblock.Wrap(src, w)
		}
		m.md.renderers[w] = r
	}
	out, err := r.Render(src)
	if err != nil {
		return textblock.Wrap(src, w)
	}
	return trimBlank(out)
}

// trimBlank drops blank lines around glamour's output and trailing spaces.
func trimBlank(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && strings.TrimSpace(stripANSI(lines[0])) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(stripANSI(lines[len(lines)-1])) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// HostPrompt is how a host reads in a command line: "root@flink-a" or "local".
func HostPrompt(hosts []engine.Host) string {
	switch len(hosts) {
	case 0:
		return "?"
	case 1:
		return untrusted.SanitizeLine(hosts[0].Name)
	}
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = untrusted.SanitizeLine(h.Name)
	}
	return fmt.Sprintf("{%s}", strings.Join(names, ","))
}

// View draws the title, the doc and the command, at most maxRows rows.
// docRows bounds the doc; the rest of the doc is elided.
func (m Model) View() string {
	if m.step == nil || m.width <= 0 {
		return ""
	}
	s := m.styles
	w := m.width
	st := m.step
	var head []string
	name := st.Name()
	if m.item != "" {
		name += " [" + m.item + "]"
	}
	title := s.Title.Render(untrusted.SanitizeLine(name))
	if st.Ref != "" {
		title = s.Ref.Render(untrusted.SanitizeLine(st.Ref)) + " " + title
	}
	kind := s.Muted.Render(" · " + string(st.Kind))
	head = append(head, textblock.Line(title+kind, w))

	var cmd []string
	if m.command != "" {
		cmd = m.commandLines(w)
	} else if len(m.plan) > 0 {
		cmd = collect.Plan(m.plan, s, w)
		// The plan may use half the pane: the doc and the output need room.
		limit := max(m.maxRows/2, 4)
		if len(cmd) > limit {
			n := len(cmd) - limit + 1
			cmd = append(cmd[:limit-1], s.Muted.Render(fmt.Sprintf("  … %d more lines of the plan", n)))
		}
	}
	doc := st.Doc
	if st.Kind == engine.KindManual && st.Manual != "" {
		if doc != "" {
			doc += "\n\n"
		}
		if m.text != "" {
			doc += m.text
		} else {
			doc += st.Manual
		}
	}
	var docLines []string
	if doc != "" {
		docLines = strings.Split(m.Markdown(st.ID+"\x00"+m.text, doc, w), "\n")
	}
	room := m.maxRows - len(head) - len(cmd)
	if len(cmd) > 0 {
		room-- // blank line before the command
	}
	if room < len(docLines) {
		if room <= 0 {
			docLines = nil
		} else {
			docLines = append(docLines[:room-1], s.Muted.Render(fmt.Sprintf("… %d more lines of notes", len(docLines)-room+1)))
		}
	}
	out := head
	for _, l := range docLines {
		out = append(out, textblock.Line(l, w))
	}
	if len(cmd) > 0 {
		out = append(out, "")
		out = append(out, cmd...)
	}
	if m.maxRows > 0 && len(out) > m.maxRows {
		out = out[:m.maxRows]
	}
	return strings.Join(out, "\n")
}

func (m Model) commandLines(w int) []string {
	s := m.styles
	c := m.step.Command()
	prefix := s.Host.Render(HostPrompt(m.hosts)) + s.Muted.Render(" $ ")
	if c != nil && c.Sudo {
		prefix += s.Sudo.Render("sudo") + " "
	}
	text := untrusted.Sanitize(m.command)
	var rows []string
	for i, line := range strings.Split(text, "\n") {
		if i == 0 {
			line = prefix + s.Command.Render(line)
		} else {
			line = "  " + s.Command.Render(line)
		}
		rows = append(rows, textblock.WrapLines(textblock.ExpandTabs(line), w)...)
	}
	if len(rows) > maxCommandRows {
		n := len(rows) - maxCommandRows + 1
		rows = append(rows[:maxCommandRows-1], s.Muted.Render(fmt.Sprintf("  … %d more lines (e shows the whole command)", n)))
	}
	var tags []string
	if m.edited {
		tags = append(tags, s.Warning.Render("edited by operator"))
	}
	if c != nil && c.Destructive {
		tags = append(tags, s.Danger.Render("DESTRUCTIVE"))
	}
	if m.step.Kind == engine.KindFix {
		tags = append(tags, s.Warning.Render("changes the system"))
	}
	if len(tags) > 0 {
		rows = append(rows, strings.Join(tags, s.Muted.Render(" · ")))
	}
	for i, r := range rows {
		rows[i] = textblock.Line(r, w)
	}
	return rows
}

func stripANSI(s string) string { return ansi.Strip(s) }
