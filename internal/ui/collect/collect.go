// Package collect shows what a collect step does: before it runs, the plan
// (each file glob and command, per host); while it runs, the file being
// read with a progress bar and the running totals; after, the result
// table (collected, skipped and why, denied, empty glob, failed).
package collect

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Row is one collected (or not collected) item.
type Row struct {
	Host, Status, What, Why string
	Bytes                   int64
	Exit                    *int
	Command                 bool
}

// Model holds one collect step's rows and the file being read.
type Model struct {
	styles  styles.Styles
	rows    []Row
	current engine.CollectProgress
	reading bool
}

// New returns an empty model.
func New(st styles.Styles) Model { return Model{styles: st} }

// SetStyles changes the styles.
func (m *Model) SetStyles(st styles.Styles) { m.styles = st }

// Reset forgets the rows (a new step was entered).
func (m *Model) Reset() { m.rows, m.reading = nil, false }

// Add records one collect event (text sanitised here).
func (m *Model) Add(e engine.Event) {
	r := Row{Host: untrusted.SanitizeLine(e.Host), Status: e.Status, Why: untrusted.SanitizeLine(e.Error), Bytes: e.Bytes, Exit: e.Exit}
	if e.Command != "" && e.Path == "" {
		r.What, r.Command = untrusted.SanitizeLine(e.Command), true
	} else {
		r.What = untrusted.SanitizeLine(e.Path)
	}
	m.rows = append(m.rows, r)
	if m.reading && e.Path == m.current.Path && e.Host == m.current.Host {
		m.reading = false
	}
}

// Rows are the recorded rows.
func (m Model) Rows() []Row { return m.rows }

// SetProgress is the file being read now.
func (m *Model) SetProgress(p engine.CollectProgress) {
	m.current, m.reading = p, true
	for _, r := range m.rows { // already done: a late report
		if r.What == untrusted.SanitizeLine(p.Path) && r.Host == untrusted.SanitizeLine(p.Host) && !r.Command {
			m.reading = false
		}
	}
}

// Totals: files and bytes collected so far.
func (m Model) Totals() (files int, bytes int64) {
	for _, r := range m.rows {
		if !r.Command && (r.Status == "ok" || r.Status == "truncated") {
			files++
			bytes += r.Bytes
		}
	}
	return files, bytes
}

// ProgressView is the file being read: "host /path ███░░ 42% 2.1 MiB/5.0 MiB";
// empty when no file is being read.
func (m Model) ProgressView(w int) string {
	if !m.reading || w <= 0 {
		return ""
	}
	p := m.current
	name := untrusted.SanitizeLine(p.Host) + " " + untrusted.SanitizeLine(p.Path)
	size := engine.FormatSize(p.Read)
	frac := 0.0
	if p.Size > 0 {
		frac = min(float64(p.Read)/float64(p.Size), 1)
		size += "/" + engine.FormatSize(p.Size)
	}
	barW := min(max(w/3, 10), 40)
	opts := []progress.Option{progress.WithWidth(barW), progress.WithFillCharacters('█', '░')}
	if m.styles.ProgressFill != nil {
		opts = append(opts, progress.WithColors(m.styles.ProgressFill))
	}
	bar := progress.New(opts...)
	tail := " " + bar.ViewAs(frac) + " " + size
	room := w - ansi.StringWidth(tail)
	if room < 8 {
		return textblock.Line(tail, w)
	}
	return textblock.Line(textblock.Line(name, room)+tail, w)
}

// Plan is the plan lines of a collect step, grouped by host.
func Plan(plans []engine.CollectPlan, st styles.Styles, w int) []string {
	if len(plans) == 0 {
		return nil
	}
	// One block per host, hosts in the order they first appear.
	var hosts []string
	byHost := map[string][]engine.CollectPlan{}
	for _, p := range plans {
		if _, ok := byHost[p.Host.Name]; !ok {
			hosts = append(hosts, p.Host.Name)
		}
		byHost[p.Host.Name] = append(byHost[p.Host.Name], p)
	}
	plans = plans[:0:0]
	for _, h := range hosts {
		plans = append(plans, byHost[h]...)
	}
	var out []string
	host := ""
	for _, p := range plans {
		if p.Host.Name != host {
			host = p.Host.Name
			out = append(out, textblock.Line(st.Muted.Render("collects from ")+st.Host.Render(untrusted.SanitizeLine(host))+st.Muted.Render(":"), w))
		}
		var line string
		if len(p.Files) > 0 {
			var limits []string
			if p.Since > 0 {
				limits = append(limits, "changed within "+shortDuration(p.Since))
			}
			if p.MaxBytes > 0 {
				limits = append(limits, "last "+engine.FormatSize(p.MaxBytes)+" of each")
			}
			line = "  files  " + st.Command.Render(untrusted.SanitizeLine(strings.Join(p.Files, " ")))
			if len(limits) > 0 {
				line += st.Muted.Render("  (" + strings.Join(limits, ", ") + ")")
			}
		} else {
			line = "  output of  " + st.Command.Render(untrusted.SanitizeLine(p.Command))
			if p.Err != "" {
				line += st.Danger.Render("  " + untrusted.SanitizeLine(p.Err))
			}
		}
		for i, l := range textblock.WrapLines(line, max(w-4, 10)) {
			if i > 0 {
				l = "    " + l // under the item, not the host
			}
			out = append(out, textblock.Line(l, w))
		}
	}
	return out
}

// statusWord is how a status reads in the table.
func statusWord(r Row) string {
	switch r.Status {
	case "ok":
		return "collected"
	case "truncated":
		return "tail only"
	case "empty":
		return "empty glob"
	}
	return r.Status
}

// Table is the result table, one row per item, then a summary line,
// wrapped at spaces to w cells (a long item continues under its column).
// Lines are plain text (the output pane styles them as info).
func (m Model) Table(w int) []string {
	if len(m.rows) == 0 {
		return []string{"nothing was collected (no item matched or ran)"}
	}
	hostW, statW := len("host"), len("status")
	for _, r := range m.rows {
		hostW = max(hostW, ansi.StringWidth(r.Host))
		statW = max(statW, len(statusWord(r)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(n-ansi.StringWidth(s), 0)) }
	indent := hostW + 2 + statW + 2 + 9 + 2
	if indent > w/2 {
		indent = 4
	}
	var out []string
	add := func(line string) {
		for i, l := range strings.Split(ansi.Wrap(line, max(w, 20), " "), "\n") {
			if i > 0 {
				l = strings.Repeat(" ", indent) + strings.TrimLeft(l, " ")
				out = append(out, strings.Split(ansi.Wrap(l, max(w, 20), " "), "\n")...)
				continue
			}
			out = append(out, l)
		}
	}
	add(pad("host", hostW) + "  " + pad("status", statW) + "  " + pad("size", 9) + "  item")
	counts := map[string]int{}
	var order []string
	for _, r := range m.rows {
		size := ""
		switch {
		case r.Command && r.Exit != nil:
			size = fmt.Sprintf("exit %d", *r.Exit)
		case r.Status == "ok" || r.Status == "truncated":
			size = engine.FormatSize(r.Bytes)
		}
		what := r.What
		if r.Command {
			what = "$ " + what
		}
		if r.Why != "" {
			what += " — " + r.Why
		}
		add(pad(r.Host, hostW) + "  " + pad(statusWord(r), statW) + "  " + pad(size, 9) + "  " + what)
		w := statusWord(r)
		if counts[w] == 0 {
			order = append(order, w)
		}
		counts[w]++
	}
	files, bytes := m.Totals()
	var sum []string
	for _, w := range order {
		sum = append(sum, fmt.Sprintf("%d %s", counts[w], w))
	}
	if files > 0 {
		sum = append(sum, engine.FormatSize(bytes)+" of files")
	}
	add("── " + strings.Join(sum, " · "))
	return out
}

// shortDuration: 20m, 1h30m, 45s (time.Duration's String says 20m0s).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
