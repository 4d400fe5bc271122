package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/statusbar"
	"github.com/runbook-dev/runbook/internal/ui/steppane"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Smallest usable screen; below it a notice asks for more room.
const (
	minWidth  = 40
	minHeight = 12
)

// layout is where things go, recomputed after every Update.
type layout struct {
	outlineW int // 0: outline hidden (narrow terminal)
	mainW    int // content width of the main pane
	bodyH    int
}

func (m *Model) computeLayout() layout {
	var l layout
	l.bodyH = max(m.height-statusbar.Height, 1)
	if m.width >= 60 {
		// The outline grows with the terminal (20 at 80, 34 at 120, 64 at
		// 200): past 80 columns titles need the room more than output does.
		l.outlineW = min(max(20+(m.width-80)*11/30, 18), 64)
	}
	l.mainW = max(m.width-l.outlineW-3, 10) // separator + one space each side
	return l
}

// showsOutput reports whether the current step has an output pane.
func (m *Model) showsOutput() bool {
	if m.state == stateRunning {
		return true
	}
	if m.prompt == nil || m.prompt.Step == nil {
		return false
	}
	switch m.prompt.Step.Kind {
	case engine.KindRun, engine.KindWait, engine.KindCollect, engine.KindFix:
		return true
	}
	return false
}

// relayout sizes every component for the current state.
func (m *Model) relayout() {
	l := m.computeLayout()
	m.status.SetSize(m.width, statusbar.Height)
	m.outline.SetSize(l.outlineW, l.bodyH)
	m.status.SetHints(m.hints())
	m.pager.SetWidth(l.mainW)
	m.pager.SetHeight(max(l.bodyH-1, 1))
	promptH := textblock.Height(m.promptView(l.mainW))
	m.input.SetSize(l.mainW, 3)
	m.choices.SetSize(l.mainW, max(l.bodyH/3, 3))
	m.picker.SetSize(l.mainW, max(l.bodyH/2, 3))
	room := l.bodyH - promptH
	if promptH > 0 {
		room-- // blank line above the prompt
	}
	if m.showsOutput() {
		stepMax := max(room-7, 3)
		m.step.SetSize(l.mainW, stepMax)
		stepH := textblock.Height(m.step.View())
		m.out.SetSize(l.mainW, max(room-stepH-2, 1)) // blank line + output header
	} else {
		m.step.SetSize(l.mainW, max(room, 1))
		m.out.SetSize(l.mainW, 0)
	}
}

func (m *Model) outHeight() int { return max(m.out.Height(), 1) }

// View draws the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "runbook " + untrusted.SanitizeLine(m.rb.ID)
	return v
}

// render draws the screen as a string (golden tests compare it).
func (m *Model) render() string {
	if m.width < minWidth || m.height < minHeight {
		w := max(m.width, 1)
		msg := fmt.Sprintf("runbook needs at least %d×%d cells (now %d×%d)", minWidth, minHeight, m.width, m.height)
		return textblock.Block(textblock.Wrap(msg, w), w, max(m.height, 1))
	}
	l := m.computeLayout()
	main := textblock.Block(m.mainView(l), l.mainW, l.bodyH)
	var b strings.Builder
	mainLines := strings.Split(main, "\n")
	var outLines []string
	if l.outlineW > 0 {
		outLines = strings.Split(m.outline.View(), "\n")
	}
	sep := m.styles.Separator.Render("│")
	for i := 0; i < l.bodyH; i++ {
		if l.outlineW > 0 {
			ol := strings.Repeat(" ", l.outlineW)
			if i < len(outLines) {
				ol = outLines[i]
			}
			b.WriteString(ol)
			b.WriteString(sep)
		}
		b.WriteByte(' ')
		b.WriteString(mainLines[i])
		if l.outlineW == 0 {
			b.WriteString(" ")
		}
		b.WriteString(" ")
		b.WriteByte('\n')
	}
	b.WriteString(m.status.View())
	return b.String()
}

func (m *Model) mainView(l layout) string {
	s := m.styles
	switch m.overlay {
	case overlayHelp:
		return s.Title.Render("Help") + "  " + s.Muted.Render("↓ scrolls · esc closes") + "\n" + m.pager.View()
	case overlayTree:
		return s.Title.Render("The whole procedure") + "  " + s.Muted.Render("▶ is where you are · v looks back at a visit · esc closes") + "\n" + m.pager.View()
	case overlayLook:
		if m.look != nil {
			return m.lookView(l)
		}
	case overlayExplain:
		return m.explainView(l)
	case overlayPalette:
		return m.paletteView(l)
	case overlayPaths:
		return m.pathsView(l)
	}
	var parts []string
	switch m.state {
	case stateLoading:
		parts = append(parts, s.Title.Render(untrusted.SanitizeLine(m.rb.Title)))
		if m.rb.Description != "" {
			parts = append(parts, m.step.Markdown("\x00runbook", m.rb.Description, l.mainW))
		}
		parts = append(parts, "", s.Muted.Render(fmt.Sprintf("%d value(s) needed before starting:", len(m.missing))))
	case stateError:
		if m.prompt != nil && m.prompt.Step != nil {
			parts = append(parts, m.step.View())
		}
		parts = append(parts, "", s.Danger.Render("The session cannot go on"))
		if m.fatal != nil {
			parts = append(parts, textblock.Wrap(untrusted.Sanitize(m.fatal.Error()), l.mainW))
		}
		parts = append(parts, "", s.Muted.Render("b goes back to an earlier step · q quits"))
	case stateDone:
		if m.overlay == overlayNone {
			return m.pager.View()
		}
		parts = append(parts, m.pager.View()) // a picker (look-back) over the end
	case stateRunning, stateAsking:
		parts = append(parts, m.step.View())
		if m.showsOutput() {
			parts = append(parts, "", m.outputHeader(l.mainW), m.out.View())
		}
	}
	body := strings.Join(parts, "\n")
	pv := m.promptView(l.mainW)
	if pv == "" {
		return body
	}
	// The prompt sits at the bottom of the main pane.
	room := l.bodyH - textblock.Height(pv) - 1
	return textblock.Block(body, l.mainW, max(room, 0)) + "\n\n" + pv
}

// outputHeader: "output ⠹ 3.2s · lines 1–20 of 1,234 · /disk 2/5".
func (m *Model) outputHeader(w int) string {
	s := m.styles
	parts := []string{s.Muted.Render("── output")}
	if m.state == stateRunning {
		el := m.lastTick.Sub(m.runStarted)
		if el < 0 {
			el = 0
		}
		frames := spinner.MiniDot.Frames
		frame := frames[int(el/(100*time.Millisecond))%len(frames)]
		if st := m.step.Step(); st != nil && st.Kind == engine.KindWait && st.Wait != nil && !m.waitStart.IsZero() {
			// A wait's own clock replaces the act's: one elapsed, right.
			parts = append(parts, s.Spinner.Render(frame)+" "+m.waitProgress(st.Wait))
		} else {
			parts = append(parts, s.Spinner.Render(frame)+" "+untrusted.SanitizeLine(m.activity)+" "+el.Truncate(100*time.Millisecond).String())
		}
		if m.collectFiles > 0 && el > 0 {
			rate := float64(m.collectBytes) / el.Seconds()
			parts = append(parts, fmt.Sprintf("%d files · %s · %s/s", m.collectFiles, engine.FormatSize(m.collectBytes), engine.FormatSize(int64(rate))))
		}
	}
	first, last, total := m.out.Position()
	if total > 0 {
		pos := fmt.Sprintf("lines %d–%d of %d", first, last, total)
		if !m.out.Following() {
			pos += " (scrolled; end follows)"
		}
		parts = append(parts, pos)
	}
	if t := m.out.SearchTerm(); t != "" {
		i, n := m.out.MatchInfo()
		parts = append(parts, fmt.Sprintf("/%s %d/%d", untrusted.SanitizeLine(t), i, n))
	}
	return textblock.Line(strings.Join(parts, s.Muted.Render(" · ")), w)
}

// waitProgress: "elapsed 12s · poll 2 · 48s left", from the wait's own
// start and the current frame, so every number moves at every frame.
func (m *Model) waitProgress(w *engine.Wait) string {
	el := max(m.waitTick.Sub(m.waitStart), 0)
	left := max(w.Timeout-el, 0)
	polls := fmt.Sprintf("poll %d", m.pollsStarted)
	if m.polls >= m.pollsStarted {
		polls = fmt.Sprintf("%d poll done", m.polls)
		if m.polls != 1 {
			polls = fmt.Sprintf("%d polls done", m.polls)
		}
	}
	return fmt.Sprintf("elapsed %s · %s · %s left", el.Truncate(time.Second), polls, left.Truncate(time.Second))
}

// promptView is the bottom of the main pane: what the operator is asked.
func (m *Model) promptView(w int) string {
	s := m.styles
	switch m.overlay {
	case overlayInput:
		if m.purpose == forDestructive || m.purpose == forFixInput {
			return m.fixContext(w) + "\n" + m.input.View()
		}
		return m.input.View()
	case overlayPicker:
		if m.purpose == forFixFinal {
			return m.fixContext(w) + "\n" + m.picker.View()
		}
		if m.purpose == forHostKey && m.request != nil {
			q := m.request
			lines := []string{
				s.Warning.Render(textblock.Line(untrusted.SanitizeLine(q.Title), w)),
				// Wrapped, never cut: the whole fingerprint must be comparable.
				textblock.Wrap(untrusted.SanitizeLine(q.KeyType)+" "+s.Title.Render(untrusted.SanitizeLine(q.Fingerprint)), w),
				s.Muted.Render(textblock.Line("Compare it with the fingerprint your team published for this host.", w)),
			}
			return strings.Join(lines, "\n") + "\n" + m.picker.View()
		}
		return m.picker.View()
	case overlayQuit:
		hint := "y quits (recorded as aborted) · n stays"
		if m.cfg.ExportBundle != nil {
			hint = "y quits (recorded as aborted) · x exports the bundle, then quits · n stays"
		}
		if m.state == stateRunning {
			hint = "a command is running and will be stopped · " + hint
		}
		if m.cfg.BundleNote != "" {
			hint += " · bundle: " + untrusted.SanitizeLine(m.cfg.BundleNote)
		}
		return s.Warning.Render("Quit this session?") + "\n" + textblock.Wrap(hint, w)
	case overlayHelp, overlayTree, overlayLook, overlayExplain, overlayPalette, overlayPaths:
		return ""
	}
	switch m.state {
	case stateRunning:
		if m.quitting {
			return s.Muted.Render("closing the session…")
		}
		if bar := m.coll.ProgressView(w); bar != "" {
			return bar + "\n" + s.Muted.Render("ctrl+c cancels the collection")
		}
		return s.Muted.Render("ctrl+c cancels the command")
	case stateAsking:
	default:
		return ""
	}
	p := m.prompt
	if p == nil {
		return ""
	}
	if p.Section != nil {
		if v := m.promptKindView(p, w); v != "" {
			return sectionLine(p, s, w) + "\n" + v
		}
	}
	return m.promptKindView(p, w)
}

func (m *Model) promptKindView(p *engine.Prompt, w int) string {
	s := m.styles
	switch p.Kind {
	case engine.PromptRun:
		where := steppane.HostPrompt(p.Hosts)
		if p.Step.Kind == engine.KindCollect {
			return textblock.Wrap(s.Question.Render("Ready to collect from "+where+".")+" "+s.Muted.Render("enter collects (into the bundle)"), w)
		}
		return textblock.Wrap(s.Question.Render("Ready to run on "+where+".")+" "+s.Muted.Render("enter runs it · e edits it first"), w)
	case engine.PromptDecided:
		d := p.Decision
		line := s.Decision.Render("→ " + untrusted.SanitizeLine(d.Explain))
		keys := "enter follows it · o overrides · r re-runs"
		if p.Step.Kind == engine.KindCollect {
			keys = "enter follows it · o overrides"
		}
		return textblock.Wrap(line, w) + "\n" + s.Muted.Render(textblock.Wrap(keys, w))
	case engine.PromptAsk:
		return m.choices.View()
	case engine.PromptManual:
		if len(p.Choices) > 0 {
			return m.choices.View()
		}
		return s.Question.Render("Do this yourself, then press d (done).")
	case engine.PromptConfirm:
		return m.fixContext(w) + "\n" + textblock.Wrap(m.confirmHint(), w)
	case engine.PromptError:
		msg := "transport failed"
		if p.Err != nil {
			msg = p.Err.Error()
		}
		a := actionsFor(p)
		why := ""
		if a.why != "" {
			why = s.Muted.Render(textblock.Wrap(a.why, w)) + "\n"
		}
		return s.Danger.Render(textblock.Wrap("✗ "+untrusted.SanitizeLine(msg), w)) + "\n" + why + s.Muted.Render(textblock.Wrap(a.hint(), w))
	case engine.PromptEnd:
	}
	return ""
}

func (m *Model) confirmHint() string {
	s := m.styles
	p := m.prompt
	c := p.Step.Command()
	var b strings.Builder
	if len(p.Inputs) > 0 {
		var names []string
		for _, in := range p.Inputs {
			names = append(names, in.Name)
		}
		b.WriteString(s.Muted.Render("it asks for: " + strings.Join(names, ", ") + " · "))
	}
	if c != nil && c.Destructive {
		b.WriteString(s.Danger.Render("y then type " + m.destructiveName() + " to run it"))
	} else {
		b.WriteString(s.Warning.Render("y runs it"))
	}
	b.WriteString(s.Muted.Render(" · n declines · o another route · b back"))
	return b.String()
}

// fixContext names the host a fix changes, above its confirmation.
func (m *Model) fixContext(w int) string {
	p := m.prompt
	if p == nil {
		return ""
	}
	s := m.styles
	head := textblock.Line(s.Warning.Render("This fix changes ")+s.Host.Render(steppane.HostPrompt(p.Hosts))+s.Warning.Render("."), w)
	cmds := m.fixCommands
	if cmds == nil {
		cmds = p.Commands
	}
	if len(cmds) == 0 {
		return head
	}
	// Exactly what will be sent, per host; wrapped, never cut.
	lines := []string{head, s.Muted.Render(textblock.Line("It sends exactly:", w))}
	for _, c := range cmds {
		sudo := ""
		if c.Sudo {
			sudo = "sudo "
		}
		lines = append(lines, textblock.Wrap(s.Host.Render(untrusted.SanitizeLine(c.Host.Name))+s.Muted.Render(" $ ")+sudo+untrusted.SanitizeLine(c.Command), w))
	}
	return strings.Join(lines, "\n")
}

// hints are the keys that work now, for the status bar.
func (m *Model) hints() []key.Binding {
	k := m.keys
	h := func(b key.Binding, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, desc))
	}
	switch m.overlay {
	case overlayInput:
		return []key.Binding{h(k.Proceed, "submit"), h(k.Close, "cancel")}
	case overlayPicker:
		return []key.Binding{h(k.Choose, "pick"), h(k.Proceed, "choose"), h(k.Close, "cancel")}
	case overlayTree:
		return []key.Binding{h(k.Down, "scroll"), h(k.Look, "look back"), h(k.Close, "close")}
	case overlayHelp:
		return []key.Binding{h(k.Down, "scroll"), h(k.Close, "close")}
	case overlayLook:
		return []key.Binding{h(k.Prev, "older"), h(k.Next, "newer"), h(k.Down, "scroll"), h(k.Search, "search"), h(k.Explain, "explain"), h(k.Close, "close")}
	case overlayExplain:
		return []key.Binding{h(k.Copy, "copy"), h(k.Down, "scroll"), h(k.Palette, "palette"), h(k.Close, "close")}
	case overlayPalette:
		return []key.Binding{h(k.Proceed, "run"), h(k.Down, "next"), h(k.Close, "close")}
	case overlayQuit:
		return []key.Binding{h(k.Yes, "quit"), h(k.No, "stay")}
	}
	switch m.state {
	case stateLoading:
		return []key.Binding{h(k.Proceed, "submit"), h(k.Cancel, "quit")}
	case stateRunning:
		return []key.Binding{h(k.Cancel, "cancel"), h(k.PageUp, "scroll"), h(k.Search, "search"), h(k.Note, "note"), h(k.Tree, "tree"), h(k.Help, "help")}
	case stateError:
		return []key.Binding{h(k.Back, "back"), h(k.Tree, "tree"), h(k.Quit, "quit")}
	case stateDone:
		return []key.Binding{h(k.Quit, "quit"), h(k.PageDown, "scroll"), h(k.Tree, "tree"), h(k.Look, "look back"), h(k.Explain, "explain"), h(k.Palette, "palette")}
	case stateAsking:
	}
	p := m.prompt
	if p == nil {
		return nil
	}
	common := []key.Binding{h(k.Back, "back"), h(k.Note, "note"), h(k.Tree, "tree"), h(k.Look, "look back"), h(k.Help, "help"), h(k.Quit, "quit"), h(k.Palette, "palette")}
	var first []key.Binding
	switch p.Kind {
	case engine.PromptRun:
		first = []key.Binding{h(k.Proceed, "run"), h(k.Edit, "edit")}
		if p.Step.Command() == nil { // a collect step: nothing to edit
			first = []key.Binding{h(k.Proceed, "collect")}
		}
	case engine.PromptDecided:
		first = []key.Binding{h(k.Proceed, "proceed"), h(k.Override, "override"), h(k.Rerun, "re-run")}
		if p.Step.Kind == engine.KindCollect { // re-collecting would duplicate the bundle's entries
			first = first[:2]
		}
		first = append(first, h(k.Explain, "why"))
	case engine.PromptAsk:
		first = []key.Binding{h(k.Choose, "answer")}
	case engine.PromptManual:
		first = []key.Binding{h(k.Done, "done")}
		if len(p.Choices) > 0 {
			first = []key.Binding{h(k.Choose, "answer")}
		}
	case engine.PromptConfirm:
		first = []key.Binding{h(k.Yes, "confirm"), h(k.No, "decline")}
	case engine.PromptError:
		a := actionsFor(p)
		if a.retry {
			first = append(first, h(k.Rerun, "retry"))
		}
		if a.reauth {
			first = append(first, h(k.ReAuth, "re-auth"))
		}
		if a.edit {
			first = append(first, h(k.Edit, "edit"))
		}
		if a.skip {
			first = append(first, h(k.Skip, "skip"))
		}
		first = append(first, h(k.Override, "override"))
	case engine.PromptEnd:
	}
	return append(first, common...)
}

func (m *Model) helpText() string {
	var b strings.Builder
	b.WriteString(m.styles.Title.Render("Marks (outline, tree, path taken)") + "\n")
	for _, l := range []string{
		"▶ current   where you are",
		"✓ passed    exit 0, wait held, fix ran, done",
		"✗ failed    exit≠0, transport error, timeout, declined",
		"● answered  a question was answered",
		"○ visited   entered, nothing decided yet",
	} {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("\n" + m.styles.Title.Render("Keys") + "\n")
	for _, group := range m.keys.FullHelp() {
		for _, kb := range group {
			b.WriteString(fmt.Sprintf("  %-8s %s\n", kb.Help().Key, kb.Help().Desc))
		}
		b.WriteString("\n")
	}
	b.WriteString(m.styles.Muted.Render("Every probe waits for enter; every fix for y (destructive: the host name).\nDecisions, overrides, edits and notes are recorded with the session."))
	return b.String()
}

func (m *Model) treeText() string {
	cur := m.outline.Current()
	return untrusted.Sanitize(engine.GraphTextWidth(m.rb, cur, m.computeLayout().mainW))
}
