package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/choices"
	"github.com/runbook-dev/runbook/internal/ui/input"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

func (m *Model) openInput(p purpose, label, hint string, opts ...input.Option) {
	m.overlay, m.purpose = overlayInput, p
	m.input = input.New(label, hint, m.styles, opts...)
}

func (m *Model) openPicker(p purpose, title string, items []choices.Item) {
	m.overlay, m.purpose = overlayPicker, p
	m.picker = choices.New(title, items, m.styles, m.keys)
}

func (m *Model) closeOverlay() {
	m.overlay, m.purpose = overlayNone, forNothing
	if m.look != nil { // an input over look-back (search) returns to it
		m.overlay = overlayLook
	}
}

func (m *Model) openSearch() {
	// The term of the last search is offered again, on any step: enter
	// repeats it, ctrl+u clears it for a new one.
	term := m.searchOut().SearchTerm()
	if term == "" {
		term = m.x.lastSearch
	}
	m.openInput(forSearch, "Search the output", "enter finds the next match · ctrl+u clears · esc closes · empty clears", input.WithValue(term))
}

// idle reports whether the session may be touched now.
func (m *Model) idle() bool {
	return m.session != nil && (m.state == stateAsking || m.state == stateError || m.state == stateDone)
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.Cancel) {
		return m.onCtrlC()
	}
	m.ctrlC = 0
	switch m.overlay {
	case overlayInput:
		return m.inputKey(k)
	case overlayPicker:
		return m.pickerKey(k)
	case overlayLook:
		return m.lookKey(k)
	case overlayExplain:
		return m.explainKey(k)
	case overlayPalette:
		return m.paletteKey(k)
	case overlayPaths:
		return m.pathsKey(k)
	case overlayTree, overlayHelp:
		switch {
		case key.Matches(k, m.keys.Palette):
			return m.openPalette()
		case key.Matches(k, m.keys.Look) && m.overlay == overlayTree:
			return m.openLookPicker()
		case key.Matches(k, m.keys.Close, m.keys.Quit, m.keys.Tree, m.keys.Help):
			m.closeOverlay()
			if m.state == stateDone {
				m.showEnd()
			}
		default:
			var cmd tea.Cmd
			m.pager, cmd = m.pager.Update(k)
			return cmd
		}
		return nil
	case overlayQuit:
		return m.quitKey(k)
	}

	// Keys that work in every state.
	switch {
	case key.Matches(k, m.keys.Palette) && m.state != stateLoading:
		return m.openPalette()
	case key.Matches(k, m.keys.Explain) && m.state != stateLoading:
		return m.openExplain()
	case key.Matches(k, m.keys.Help):
		m.overlay = overlayHelp
		m.pager.SetContent(m.helpText())
		m.pager.GotoTop()
		return nil
	case key.Matches(k, m.keys.Tree):
		m.overlay = overlayTree
		m.pager.SetContent(m.treeText())
		m.pager.GotoTop()
		return nil
	case key.Matches(k, m.keys.Search) && m.state != stateDone:
		m.openSearch()
		return nil
	case key.Matches(k, m.keys.Look):
		return m.openLookPicker()
	case key.Matches(k, m.keys.Paths):
		return m.openPaths()
	case key.Matches(k, m.keys.Note) && m.session != nil && !m.x.replay:
		m.openInput(forNote, "Note for this step", "kept in the session record and the bundle",
			input.WithValidate(func(v string) error {
				if strings.TrimSpace(v) == "" {
					return fmt.Errorf("empty note")
				}
				return nil
			}))
		return nil
	case key.Matches(k, m.keys.Quit):
		if m.state == stateDone {
			if m.exporting {
				m.quitting = true
				m.status.SetMessage("writing the bundle, then quitting…", false)
				return nil
			}
			return m.quit()
		}
		m.overlay = overlayQuit
		return nil
	case key.Matches(k, m.keys.PageUp):
		if m.state == stateDone {
			m.pager.PageUp()
		} else {
			m.out.ScrollUp(max(m.outHeight()-1, 1))
		}
		return nil
	case key.Matches(k, m.keys.PageDown):
		if m.state == stateDone {
			m.pager.PageDown()
		} else {
			m.out.ScrollDown(max(m.outHeight()-1, 1))
		}
		return nil
	case key.Matches(k, m.keys.Top):
		m.out.Top()
		return nil
	case key.Matches(k, m.keys.Bottom):
		m.out.Bottom()
		return nil
	}

	switch m.state {
	case stateLoading:
		return nil
	case stateRunning:
		if key.Matches(k, m.keys.Up) {
			m.out.ScrollUp(1)
		} else if key.Matches(k, m.keys.Down) {
			m.out.ScrollDown(1)
		} else {
			m.status.SetMessage("a command is running — wait for it, or ctrl+c cancels it", false)
		}
		return nil
	case stateAsking:
		return m.promptKey(k)
	case stateError:
		switch {
		case key.Matches(k, m.keys.Back):
			return m.openBack()
		}
		return nil
	case stateDone:
		var cmd tea.Cmd
		m.pager, cmd = m.pager.Update(k)
		return cmd
	}
	return nil
}

// promptKey handles the keys of the pending prompt.
func (m *Model) promptKey(k tea.KeyPressMsg) tea.Cmd {
	p := m.prompt
	if p == nil {
		return nil
	}
	hasChoices := p.Kind == engine.PromptAsk || (p.Kind == engine.PromptManual && len(p.Choices) > 0)
	if hasChoices {
		if key.Matches(k, m.keys.Up, m.keys.Down) {
			m.choices, _ = m.choices.Update(k)
			return nil
		}
		pick, ok := choices.Item{}, false
		switch {
		case key.Matches(k, m.keys.Proceed):
			pick, ok = m.choices.Selected()
		case key.Matches(k, m.keys.Yes, m.keys.No, m.keys.Choose):
			pick, ok = m.choices.Pick(k.String())
		}
		if ok {
			answer := pick.Value
			return m.act("answering "+answer, func(s *engine.Session) error { return s.Answer(answer, "operator") })
		}
	} else if key.Matches(k, m.keys.Up) {
		m.out.ScrollUp(1)
		return nil
	} else if key.Matches(k, m.keys.Down) {
		m.out.ScrollDown(1)
		return nil
	}
	if key.Matches(k, m.keys.Back) {
		return m.openBack()
	}

	switch p.Kind {
	case engine.PromptRun:
		switch {
		case key.Matches(k, m.keys.Proceed):
			return m.act("running", (*engine.Session).Proceed)
		case key.Matches(k, m.keys.Edit):
			return m.openEdit()
		}
	case engine.PromptDecided:
		switch {
		case key.Matches(k, m.keys.Proceed):
			return m.act("following the decision", (*engine.Session).Proceed)
		case key.Matches(k, m.keys.Rerun) && p.Step.Kind == engine.KindCollect:
			m.status.SetMessage("a collect step is not re-run (its files are in the bundle); b goes back to it", false)
		case key.Matches(k, m.keys.Rerun):
			return m.act("re-running", (*engine.Session).Rerun)
		case key.Matches(k, m.keys.RerunFailed):
			return m.rerunFailed()
		case key.Matches(k, m.keys.Override):
			return m.openOverride()
		case key.Matches(k, m.keys.Edit):
			return m.openEdit()
		}
	case engine.PromptAsk:
	case engine.PromptManual:
		switch {
		case key.Matches(k, m.keys.Done) && len(p.Choices) == 0:
			return m.act("marking done", func(s *engine.Session) error { return s.Done("operator") })
		case key.Matches(k, m.keys.Proceed) && len(p.Choices) == 0:
			m.status.SetMessage("press d when you have done this", false)
		case key.Matches(k, m.keys.Override):
			return m.openOverride()
		}
	case engine.PromptConfirm:
		switch {
		case key.Matches(k, m.keys.Yes):
			return m.startFix()
		case key.Matches(k, m.keys.No):
			return m.act("declining", func(s *engine.Session) error { return s.Decline("declined by the operator", "operator") })
		case key.Matches(k, m.keys.Edit):
			return m.openEdit()
		case key.Matches(k, m.keys.Override):
			return m.openOverride()
		case key.Matches(k, m.keys.Proceed):
			m.status.SetMessage("this changes the system: press y to go on, n to decline", false)
		}
	case engine.PromptError:
		a := actionsFor(p)
		switch {
		case key.Matches(k, m.keys.Rerun) && a.retry:
			return m.act("retrying", (*engine.Session).Retry)
		case key.Matches(k, m.keys.RerunFailed) && a.retry:
			return m.rerunFailed()
		case key.Matches(k, m.keys.Rerun):
			m.status.SetMessage("retrying cannot help here: "+a.why, true)
		case key.Matches(k, m.keys.ReAuth) && a.reauth:
			return m.act("re-authenticating", (*engine.Session).Retry)
		case key.Matches(k, m.keys.Edit) && a.edit:
			return m.openEdit()
		case key.Matches(k, m.keys.Skip) && a.skip:
			m.overrideTo = a.skipTo
			m.openInput(forOverrideReason, "Why skip it? (recorded)", "going on to "+m.rb.Step(a.skipTo).Label(),
				input.WithValidate(func(v string) error {
					if strings.TrimSpace(v) == "" {
						return fmt.Errorf("a skip needs a reason")
					}
					return nil
				}))
			return nil
		case key.Matches(k, m.keys.Override):
			return m.openOverride()
		}
	case engine.PromptEnd:
	}
	return nil
}

func (m *Model) openEdit() tea.Cmd {
	p := m.prompt
	if p.Step.Command() == nil {
		m.status.SetMessage("this step runs no command of its own: nothing to edit", false)
		return nil
	}
	if strings.Contains(p.Command, "******") {
		m.status.SetMessage("this command holds a secret param; it cannot be edited here", true)
		return nil
	}
	m.openInput(forEdit, "Edit the command (recorded as edited)", "enter keeps it · esc discards",
		input.WithValue(p.Command),
		input.WithValidate(func(v string) error {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("empty command")
			}
			return nil
		}))
	return nil
}

func (m *Model) openBack() tea.Cmd {
	if !m.idle() || m.state == stateDone {
		return nil
	}
	path := m.session.PathSteps()
	var items []choices.Item
	for i := len(path) - 1; i >= 0; i-- {
		st := m.rb.Step(path[i])
		if st == nil {
			continue
		}
		note := ""
		if st.ID == m.session.Current().ID {
			note = "(start this step again)"
		}
		// The mark keeps the picker's number apart from the step's ref
		// ("1 ✓ 6 Is…", not "1 6 Is…").
		items = append(items, choices.Item{Label: m.outline.Mark(st.ID).Glyph() + " " + st.Label(), Value: st.ID, Note: note})
	}
	if len(items) == 0 {
		m.status.SetMessage("no earlier step on the path yet", false)
		return nil
	}
	m.openPicker(forBack, "Go back to which step?", items)
	return nil
}

func (m *Model) openOverride() tea.Cmd {
	st := m.prompt.Step
	var routes []string
	for _, r := range st.Routes() {
		if !slices.Contains(routes, r) {
			routes = append(routes, r)
		}
	}
	chosen := ""
	if d := m.prompt.Decision; d != nil {
		chosen = d.Next
	}
	var items []choices.Item
	for _, r := range routes {
		label := r
		if t := m.rb.Step(r); t != nil {
			label = t.Label()
		}
		note := ""
		if r == chosen {
			note = "(the automatic decision)"
		}
		items = append(items, choices.Item{Label: label, Value: r, Note: note})
	}
	if len(items) == 0 {
		m.status.SetMessage("this step has no other route", false)
		return nil
	}
	m.openPicker(forOverridePick, "Override: go to which step instead?", items)
	return nil
}

// startFix collects the fix's inputs, then the confirmation.
func (m *Model) startFix() tea.Cmd {
	m.fixInputs = append([]*engine.Param(nil), m.prompt.Inputs...)
	m.fixValues = map[string]string{}
	m.fixCommands = nil
	return m.nextFixStep()
}

func (m *Model) nextFixStep() tea.Cmd {
	if len(m.fixInputs) > 0 {
		p := m.fixInputs[0]
		label := p.Prompt // the runbook's own words for it
		if label == "" {
			label = "Input " + p.Name
			if p.Description != "" {
				label += " — " + p.Description
			}
		}
		opts := []input.Option{input.WithValidate(func(v string) error { _, err := p.Validate(v); return err })}
		if p.HasDefault {
			opts = append(opts, input.WithValue(p.Default))
		}
		if p.Secret {
			opts = append(opts, input.Masked())
		}
		m.openInput(forFixInput, label, p.Describe(), opts...)
		return nil
	}
	// The inputs are in: show the command exactly as it will be sent, per
	// host, and confirm that.
	cmds, err := m.session.RenderFix(m.fixValues)
	if err != nil {
		m.closeOverlay()
		m.status.SetMessage("the fix cannot be rendered: "+err.Error(), true)
		return nil
	}
	m.fixCommands = cmds
	if c := m.prompt.Step.Command(); c != nil && c.Destructive {
		want := m.destructiveName()
		label := fmt.Sprintf("DESTRUCTIVE — type %q to confirm", want)
		if len(m.prompt.Hosts) != 1 {
			label = fmt.Sprintf("DESTRUCTIVE — it runs on %d hosts: type %s (the number of hosts) to confirm", len(m.prompt.Hosts), want)
		}
		m.openInput(forDestructive, label, "anything else cancels nothing; esc goes back",
			input.WithValidate(func(v string) error {
				if v != want {
					return fmt.Errorf("type %s exactly", want)
				}
				return nil
			}))
		return nil
	}
	if len(m.prompt.Inputs) > 0 {
		m.openPicker(forFixFinal, "Run exactly this?", []choices.Item{
			{Label: "yes, run it", Value: "yes"}, {Label: "no, not now", Value: "no"}})
		return nil
	}
	return m.confirmFix()
}

// destructiveName is what the operator types to confirm a destructive fix:
// the host's name, or the number of hosts when it runs on a group (a role
// name says nothing about how many machines it changes).
func (m *Model) destructiveName() string {
	hs := m.prompt.Hosts
	if len(hs) == 1 {
		return untrusted.SanitizeLine(hs[0].Address())
	}
	return strconv.Itoa(len(hs))
}

func (m *Model) confirmFix() tea.Cmd {
	m.closeOverlay()
	vals := m.fixValues
	m.fixValues = nil
	return m.act("running the fix", func(s *engine.Session) error { return s.Confirm(vals, "operator") })
}

func (m *Model) inputKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Close):
		switch m.purpose {
		case forParam:
			m.status.SetMessage("this runbook needs the value to start; ctrl+c twice interrupts (resume later)", false)
			return nil
		case forSecret:
			return m.replyRequest(reply{err: ErrDeclined})
		case forSearch:
			m.searchOut().Search("")
		}
		m.closeOverlay()
		return nil
	case key.Matches(k, m.keys.Proceed):
	default:
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(k)
		return cmd
	}
	v, ok := m.input.Submit()
	if !ok {
		return nil
	}
	switch m.purpose {
	case forParam:
		p := m.missing[0]
		m.paramValues[p.Name] = v
		m.missing = m.missing[1:]
		if len(m.missing) > 0 {
			m.askParam()
			return nil
		}
		m.closeOverlay()
		m.newSession()
		if m.session != nil {
			return m.act("starting", nil)
		}
	case forFixInput:
		m.fixValues[m.fixInputs[0].Name] = v
		m.fixInputs = m.fixInputs[1:]
		return m.nextFixStep()
	case forDestructive:
		return m.confirmFix()
	case forOverrideReason:
		m.closeOverlay()
		to := m.overrideTo
		return m.act("overriding", func(s *engine.Session) error { return s.Override(to, v) })
	case forNote:
		m.closeOverlay()
		if m.idle() {
			return m.act("adding a note", func(s *engine.Session) error { return s.Note(v) })
		}
		m.queuedNotes = append(m.queuedNotes, v)
		m.status.SetMessage("note kept; it is added when the command finishes", false)
	case forEdit:
		m.closeOverlay()
		m.edited = true
		if m.prompt != nil && m.prompt.Kind == engine.PromptError {
			// At an error, an edit is there to be tried: run it.
			return m.act("running the edited command", func(s *engine.Session) error {
				if err := s.EditCommand(v); err != nil {
					return err
				}
				return s.Retry()
			})
		}
		return m.act("editing the command", func(s *engine.Session) error { return s.EditCommand(v) })
	case forSearch:
		m.closeOverlay()
		if v != "" {
			m.x.lastSearch = v
		}
		so := m.searchOut()
		if v == so.SearchTerm() && v != "" {
			so.NextMatch(false)
		} else {
			so.Search(v)
		}
		if v != "" {
			if i, n := so.MatchInfo(); n > 0 {
				m.status.SetMessage(fmt.Sprintf("match %d of %d for %q (/ then enter: next)", i, n, v), false)
			} else {
				m.status.SetMessage(fmt.Sprintf("no match for %q", v), false)
			}
		}
	case forSecret:
		secret := []byte(v)
		m.input.Clear()
		return m.replyRequest(reply{secret: secret, ok: true})
	}
	return nil
}

func (m *Model) pickerKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.Close) {
		if m.purpose == forHostKey {
			return m.replyRequest(reply{ok: false})
		}
		if m.purpose == forLook {
			m.closeLook()
			return nil
		}
		m.closeOverlay()
		return nil
	}
	if key.Matches(k, m.keys.Up, m.keys.Down) {
		m.picker, _ = m.picker.Update(k)
		return nil
	}
	var it choices.Item
	var ok bool
	switch {
	case key.Matches(k, m.keys.Proceed):
		it, ok = m.picker.Selected()
	case key.Matches(k, m.keys.Choose, m.keys.Yes, m.keys.No):
		it, ok = m.picker.Pick(k.String())
	}
	if !ok {
		return nil
	}
	switch m.purpose {
	case forLook:
		m.overlay, m.purpose = overlayNone, forNothing
		m.openLook(lookVisit(it.Value))
		return nil
	case forBack:
		m.closeOverlay()
		to := it.Value
		return m.act("going back", func(s *engine.Session) error { return s.Back(to) })
	case forOverridePick:
		m.overrideTo = it.Value
		m.openInput(forOverrideReason, "Why override? (recorded)", "going to "+it.Label,
			input.WithValidate(func(v string) error {
				if strings.TrimSpace(v) == "" {
					return fmt.Errorf("an override needs a reason")
				}
				return nil
			}))
	case forHostKey:
		return m.replyRequest(reply{ok: it.Value == "yes"})
	case forFixFinal:
		if it.Value == "yes" {
			return m.confirmFix()
		}
		m.closeOverlay()
		m.fixCommands = nil
		m.status.SetMessage("not run: y starts again, n declines", false)
	}
	return nil
}

func (m *Model) quitKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Yes):
		m.closeOverlay()
		return m.quitSession()
	case key.Matches(k, m.keys.Export) && m.cfg.ExportBundle != nil:
		m.closeOverlay()
		m.exportRequested = true
		return m.quitSession()
	case key.Matches(k, m.keys.No, m.keys.Close, m.keys.Quit):
		m.closeOverlay()
	}
	return nil
}

// quitSession aborts the session (after stopping a running command) and quits.
func (m *Model) quitSession() tea.Cmd {
	if m.session == nil {
		m.result.Outcome = engine.OutcomeAborted
		return m.quit()
	}
	if m.state == stateRunning {
		m.quitting = true
		if m.cancel != nil {
			m.cancelled[m.run] = true
			m.cancel()
		}
		m.status.SetMessage("stopping the command, then quitting…", false)
		return nil
	}
	return m.finalize(m.exportRequested)
}

// onCtrlC: the first press cancels a running command (or, when nothing
// runs, says what the next press does); a second press interrupts the
// session: it stops where it is, is never recorded as aborted, and can be
// resumed (exit 130). A third forces the program to end even if a command
// ignores cancellation. Aborting is only ever the operator's choice (q).
func (m *Model) onCtrlC() tea.Cmd {
	m.ctrlC++
	if m.request != nil {
		var cmd tea.Cmd
		if m.purpose == forHostKey {
			cmd = m.replyRequest(reply{ok: false})
		} else {
			cmd = m.replyRequest(reply{err: ErrDeclined})
		}
		m.cancelRun()
		m.status.SetMessage("declined · ctrl+c again interrupts the session (resume it later)", false)
		return cmd
	}
	if m.state == stateDone && !m.exporting {
		return m.quit() // the session ended: nothing to interrupt
	}
	switch {
	case m.ctrlC >= 3 || (m.interrupting && m.ctrlC >= 2):
		m.result.Interrupted = true
		return m.quit()
	case m.ctrlC == 1 && m.state == stateRunning && !m.quitting:
		if m.cancelRun() {
			m.status.SetMessage("cancelling the command… ctrl+c again interrupts the session (resume it later)", false)
		}
		return nil
	case m.ctrlC == 1 && !m.quitting:
		m.status.SetMessage("ctrl+c again interrupts the session (resume it later with runbook resume) · q to quit or abort", false)
		return nil
	}
	m.closeOverlay()
	return m.interruptSession()
}

// interruptSession stops the walk without ending the session.
func (m *Model) interruptSession() tea.Cmd {
	m.interrupting = true
	m.result.Interrupted = true
	if m.session == nil {
		return m.quit()
	}
	if m.state == stateRunning {
		m.quitting = true
		if m.cancel != nil {
			m.cancelled[m.run] = true
			m.cancel()
		}
		m.status.SetMessage("stopping the command, then interrupting… (ctrl+c again forces)", false)
		return nil
	}
	return m.finalize(false)
}

func (m *Model) cancelRun() bool {
	if m.state != stateRunning || m.cancel == nil || m.cancelled[m.run] {
		return false
	}
	m.cancelled[m.run] = true
	m.cancel()
	return true
}

// onRequest shows a transport question.
func (m *Model) onRequest(q *Request) tea.Cmd {
	m.request = q
	switch q.Kind {
	case RequestHostKey:
		m.openPicker(forHostKey, "Trust this host key?", []choices.Item{
			{Label: "yes — trust it and remember it in known_hosts", Value: "yes"},
			{Label: "no — refuse and stop", Value: "no"},
		})
		// enter alone refuses: trusting takes y or 1, as OpenSSH takes a
		// typed "yes", so the key that runs every step cannot trust a host.
		m.picker.SetCursor(1)
	default:
		m.openInput(forSecret, q.Title, "masked, used once, never stored · esc declines", input.Masked())
	}
	return nil
}

func (m *Model) replyRequest(r reply) tea.Cmd {
	q := m.request
	m.request = nil
	m.closeOverlay()
	if q == nil {
		return nil
	}
	q.reply <- r // buffered: never blocks
	return m.cfg.Requests.waitCmd()
}
