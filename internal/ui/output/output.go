// Package output is the streaming output pane: what a probe prints, live,
// sanitised, searchable and scrollable, with a bounded scrollback.
//
// Host bytes pass through untrusted.Writer (one per host and stream, so an
// escape sequence or rune split across chunks is still caught) before they
// become lines. Only the last Cap lines are kept for display; the full output
// still flows through session events to the transcript. View draws only the
// visible rows, so its cost does not grow with the output.
package output

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// DefaultCap is how many lines the pane keeps.
const DefaultCap = 10000

// MaxLineBytes bounds one kept line; the rest of a longer line is counted,
// not kept (a probe printing one endless line must not fill memory).
const MaxLineBytes = 4096

// Kind says where a line came from.
type Kind uint8

const (
	Stdout Kind = iota
	Stderr
	Info // the TUI's own notes in the stream: polls, collection progress
)

// Line is one kept line of sanitised text.
type Line struct {
	Text string
	Kind Kind
}

type streamKey struct {
	host   string
	stream Kind
}

// lineSplitter receives sanitised text and cuts it into lines.
type lineSplitter struct {
	m       *Model
	key     streamKey
	partial strings.Builder
	cut     int // bytes of the current line not kept
}

func (l *lineSplitter) Write(p []byte) (int, error) {
	s := string(p)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		chunk := s
		if i >= 0 {
			chunk = s[:i]
		}
		room := MaxLineBytes - l.partial.Len()
		if len(chunk) > room {
			// Cut at a rune boundary so a kept line stays valid UTF-8.
			k := max(room, 0)
			for k > 0 && k < len(chunk) && chunk[k]&0xC0 == 0x80 {
				k--
			}
			l.partial.WriteString(chunk[:k])
			l.cut += len(chunk) - k
		} else {
			l.partial.WriteString(chunk)
		}
		if i < 0 {
			break
		}
		l.m.appendLine(l.key, l.take())
		s = s[i+1:]
	}
	return len(p), nil
}

func (l *lineSplitter) take() string {
	t := textblock.ExpandTabs(l.partial.String())
	if l.cut > 0 {
		t += fmt.Sprintf(" … [%d more bytes on this line]", l.cut)
	}
	l.partial.Reset()
	l.cut = 0
	return t
}

type stream struct {
	san   *untrusted.Writer
	split *lineSplitter
}

// Model is the output pane.
type Model struct {
	Cap    int
	styles styles.Styles

	lines   []Line
	dropped int // lines that fell off the top because of Cap
	streams map[streamKey]*stream
	order   []streamKey // streams in first-write order, for partial lines
	hosts   map[string]bool
	prefix  bool // several hosts: prefix lines with the host

	width, height int
	follow        bool
	top           int // first visible entry when not following

	search   string
	matches  []int // entry indexes (into lines) holding the search term
	matchIdx int
}

// New returns an empty pane that follows new output.
func New(st styles.Styles) Model {
	return Model{Cap: DefaultCap, styles: st, follow: true, streams: map[streamKey]*stream{}, hosts: map[string]bool{}}
}

// SetStyles changes the styles (light/dark switch).
func (m *Model) SetStyles(st styles.Styles) { m.styles = st }

// SetSize sets the pane size in cells.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	m.clamp()
}

// Reset clears the pane for a new visit; the search term stays.
func (m *Model) Reset() {
	m.lines = nil
	m.dropped = 0
	m.streams = map[streamKey]*stream{}
	m.order = nil
	m.hosts = map[string]bool{}
	m.prefix = false
	m.follow = true
	m.top = 0
	m.matches = nil
	m.matchIdx = 0
}

// Write adds raw host output for one host and stream. It is sanitised here.
func (m *Model) Write(host string, stderr bool, data string) {
	k := streamKey{host: host}
	if stderr {
		k.stream = Stderr
	}
	st := m.streams[k]
	if st == nil {
		sp := &lineSplitter{m: m, key: k}
		st = &stream{san: untrusted.NewWriter(sp), split: sp}
		m.streams[k] = st
		m.order = append(m.order, k)
	}
	if !m.hosts[host] {
		m.hosts[host] = true
		m.prefix = m.prefix || len(m.hosts) > 1
	}
	_, _ = st.san.Write([]byte(data)) // writes to a lineSplitter never fail
}

// SetHosts says how many hosts the step's command runs on: with more than
// one, every line is labelled with its host from the first line on (not
// only once a second host has spoken).
func (m *Model) SetHosts(n int) {
	if n > 1 {
		m.prefix = true
	}
}

// Flush ends the partial lines of one host (its command finished).
func (m *Model) Flush(host string) {
	for _, k := range m.order {
		if k.host != host {
			continue
		}
		st := m.streams[k]
		_ = st.san.Flush()
		if st.split.partial.Len() > 0 || st.split.cut > 0 {
			m.appendLine(k, st.split.take())
		}
	}
}

// Info adds a line of the TUI's own (poll results, progress). text is
// sanitised here.
func (m *Model) Info(text string) {
	for _, l := range strings.Split(untrusted.Sanitize(text), "\n") {
		m.push(Line{Text: textblock.ExpandTabs(l), Kind: Info})
	}
}

func (m *Model) appendLine(k streamKey, text string) {
	if m.prefix || len(m.hosts) > 1 {
		text = untrusted.SanitizeLine(k.host) + " │ " + text
	}
	m.push(Line{Text: text, Kind: k.stream})
}

func (m *Model) push(l Line) {
	m.lines = append(m.lines, l)
	if m.search != "" && containsFold(l.Text, m.search) {
		m.matches = append(m.matches, len(m.lines)-1)
	}
	capN := m.Cap
	if capN <= 0 {
		capN = DefaultCap
	}
	// Compact in batches (a quarter of the cap) so trimming is amortised.
	if len(m.lines) > capN+capN/4 {
		drop := len(m.lines) - capN
		kept := make([]Line, capN, capN+capN/4+1)
		copy(kept, m.lines[drop:])
		m.lines = kept
		m.dropped += drop
		m.top = max(m.top-drop, 0)
		var ms []int
		for _, i := range m.matches {
			if i >= drop {
				ms = append(ms, i-drop)
			}
		}
		m.matchIdx = max(m.matchIdx-(len(m.matches)-len(ms)), 0)
		m.matches = ms
	}
}

// Height is the number of rows the pane draws.
func (m Model) Height() int { return m.height }

// Len is the number of kept lines.
func (m Model) Len() int { return len(m.lines) }

// Dropped is how many lines fell off the top of the scrollback.
func (m Model) Dropped() int { return m.dropped }

// Lines returns the kept lines (for tests and the final screen).
func (m Model) Lines() []Line { return m.lines }

// Following reports whether the pane sticks to the newest output.
func (m Model) Following() bool { return m.follow }

// partials are the unfinished last lines of each stream, shown after the
// kept lines while a command runs.
func (m Model) partials() []Line {
	var out []Line
	for _, k := range m.order {
		st := m.streams[k]
		if st.split.partial.Len() == 0 {
			continue
		}
		t := textblock.ExpandTabs(st.split.partial.String())
		if m.prefix {
			t = untrusted.SanitizeLine(k.host) + " │ " + t
		}
		out = append(out, Line{Text: t, Kind: k.stream})
	}
	return out
}

func (m Model) entries() int { return len(m.lines) + len(m.partials()) }

// ScrollUp moves the view n lines towards older output.
func (m *Model) ScrollUp(n int) {
	if m.follow {
		m.top = max(m.entries()-m.height, 0)
		m.follow = false
	}
	m.top = max(m.top-n, 0)
}

// ScrollDown moves n lines towards newer output; reaching the end follows again.
func (m *Model) ScrollDown(n int) {
	if m.follow {
		return
	}
	m.top += n
	m.clamp()
}

// Top shows the oldest kept line.
func (m *Model) Top() { m.follow = false; m.top = 0 }

// Bottom shows the newest output and follows it.
func (m *Model) Bottom() { m.follow = true }

func (m *Model) clamp() {
	if m.follow {
		return
	}
	if last := m.entries() - m.height; m.top >= last && m.rowsFrom(m.top) <= m.height {
		// The end is in view (counted in rows: long lines wrap).
		m.top = max(last, 0)
		m.follow = true
	}
	m.top = min(m.top, max(m.entries()-1, 0))
}

// rowsFrom counts the rows the entries from i on take, stopping past the
// pane's height.
func (m Model) rowsFrom(i int) int {
	ps := m.partials()
	rows := 0
	for n := len(m.lines) + len(ps); i < n && rows <= m.height; i++ {
		var l Line
		if i < len(m.lines) {
			l = m.lines[i]
		} else {
			l = ps[i-len(m.lines)]
		}
		w := ansi.StringWidth(l.Text)
		rows += max((w+max(m.width, 1)-1)/max(m.width, 1), 1)
	}
	return rows
}

// Search sets the search term (case-insensitive) and shows the first match
// at or after the current view. An empty term clears the search.
func (m *Model) Search(term string) {
	m.search = term
	m.matches = nil
	m.matchIdx = 0
	if term == "" {
		return
	}
	for i, l := range m.lines {
		if containsFold(l.Text, term) {
			m.matches = append(m.matches, i)
		}
	}
	if len(m.matches) == 0 {
		return
	}
	from := m.top
	if m.follow {
		from = 0
	}
	m.matchIdx = 0
	for i, idx := range m.matches {
		if idx >= from {
			m.matchIdx = i
			break
		}
	}
	m.show(m.matches[m.matchIdx])
}

// NextMatch moves to the next match (wrapping); prev moves backwards.
func (m *Model) NextMatch(prev bool) {
	if len(m.matches) == 0 {
		return
	}
	if prev {
		m.matchIdx = (m.matchIdx - 1 + len(m.matches)) % len(m.matches)
	} else {
		m.matchIdx = (m.matchIdx + 1) % len(m.matches)
	}
	m.show(m.matches[m.matchIdx])
}

// SearchTerm is the active search term.
func (m Model) SearchTerm() string { return m.search }

// MatchInfo returns the current match (1-based) and the number of matches.
func (m Model) MatchInfo() (int, int) {
	if len(m.matches) == 0 {
		return 0, 0
	}
	return m.matchIdx + 1, len(m.matches)
}

func (m *Model) show(idx int) {
	m.follow = false
	m.top = max(idx-m.height/3, 0)
	m.clamp()
}

// Position describes the view: first and last visible line numbers (1-based,
// counting dropped lines) and the total.
func (m Model) Position() (first, last, total int) {
	n := m.entries()
	top := m.top
	if m.follow {
		top = max(n-m.height, 0)
	}
	return m.dropped + top + 1, m.dropped + min(top+m.height, n), m.dropped + n
}

// View draws the visible rows, exactly width×height cells.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	ps := m.partials()
	n := len(m.lines) + len(ps)
	entry := func(i int) Line {
		if i < len(m.lines) {
			return m.lines[i]
		}
		return ps[i-len(m.lines)]
	}
	var rows []string
	if m.follow {
		// Walk back from the newest line until the pane is full.
		for i := n - 1; i >= 0 && len(rows) < m.height; i-- {
			rows = append(m.render(entry(i)), rows...)
		}
		if len(rows) > m.height {
			rows = rows[len(rows)-m.height:]
		}
	} else {
		if m.top == 0 && m.dropped > 0 {
			rows = append(rows, m.styles.Info.Render(fmt.Sprintf("… %d earlier lines not kept here (the transcript has them)", m.dropped)))
		}
		for i := m.top; i < n && len(rows) < m.height; i++ {
			rows = append(rows, m.render(entry(i))...)
		}
		if len(rows) > m.height {
			rows = rows[:m.height]
		}
	}
	return textblock.Block(strings.Join(rows, "\n"), m.width, m.height)
}

// render styles and wraps one line into rows.
func (m Model) render(l Line) []string {
	text := l.Text
	st := m.styles.Info
	switch l.Kind {
	case Stdout:
		st = m.styles.Choice // plain
	case Stderr:
		st = m.styles.Stderr
	}
	if m.search != "" && containsFold(text, m.search) {
		text = highlight(text, m.search, st, m.styles.Match)
	} else {
		text = st.Render(text)
	}
	if ansi.StringWidth(text) <= m.width {
		return []string{text}
	}
	if l.Kind == Info {
		// Our own lines (results, errors, tables) wrap at spaces; a host's
		// output keeps its exact columns.
		return strings.Split(ansi.Wrap(text, m.width, " "), "\n")
	}
	return strings.Split(ansi.Hardwrap(text, m.width, true), "\n")
}

type renderer interface{ Render(...string) string }

// highlight styles every case-insensitive occurrence of term.
func highlight(text, term string, base, match renderer) string {
	var b strings.Builder
	lt, lterm := strings.ToLower(text), strings.ToLower(term)
	if len(lt) != len(text) || len(lterm) != len(term) {
		// Lower-casing changed byte lengths (rare scripts); highlight nothing
		// rather than cut runes in half.
		return base.Render(text)
	}
	for {
		i := strings.Index(lt, lterm)
		if i < 0 {
			b.WriteString(base.Render(text))
			return b.String()
		}
		if i > 0 {
			b.WriteString(base.Render(text[:i]))
		}
		b.WriteString(match.Render(text[i : i+len(term)]))
		text, lt = text[i+len(term):], lt[i+len(term):]
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
