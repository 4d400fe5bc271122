package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui/choices"
	"github.com/runbook-dev/runbook/internal/ui/collect"
	"github.com/runbook-dev/runbook/internal/ui/divergence"
	"github.com/runbook-dev/runbook/internal/ui/input"
	"github.com/runbook-dev/runbook/internal/ui/keymap"
	"github.com/runbook-dev/runbook/internal/ui/outline"
	"github.com/runbook-dev/runbook/internal/ui/output"
	"github.com/runbook-dev/runbook/internal/ui/statusbar"
	"github.com/runbook-dev/runbook/internal/ui/steppane"
	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Config is what the TUI needs to walk a runbook.
type Config struct {
	Runbook *engine.Runbook
	// Options for engine.NewSession. StepMode is forced on; OnEvent, if set,
	// still receives every event (journal, transcript) before the TUI does.
	Options engine.Options
	// ExportBundle writes the session's bundle and returns its path; nil when
	// no bundle is configured. It runs in a command, never in Update.
	ExportBundle func(ctx context.Context, s *engine.Session) (string, error)
	// BundleNote says where the bundle goes when the driver writes it after
	// the TUI closes (e.g. --bundle); shown on the quit dialog and final screen.
	BundleNote string
	// Requests carries the transport's questions (host key, passphrase, sudo).
	Requests *Requests
	// Styles fixes the styles; nil picks them from the terminal background.
	Styles *styles.Styles
	// Scrollback is how many output lines stay viewable (default 10 000).
	Scrollback int
	// BatchInterval gathers events before a redraw (default 40 ms; < 0: none).
	BatchInterval time.Duration
	// Banner, when set, stays on screen at the bottom left: e.g.
	// "demo · scenario 1-backup-full · simulated hosts" for `runbook demo`.
	Banner string
	// Now is the clock for elapsed times (default time.Now).
	Now func() time.Time
	// Before runs once, as the first action, before the first step: the
	// driver's pre-steps (the bundle's clock-skew probe). It may dial hosts
	// and so ask through Requests, which the TUI is reading by then.
	Before func(ctx context.Context)
}

// Result is how the TUI session ended.
type Result struct {
	Outcome    engine.Outcome
	Message    string
	BundlePath string
	BundleErr  error
	Err        error // fatal session error, if any
	// Interrupted: the operator pressed ctrl+c twice (or the program was
	// stopped); the session did not end and can be resumed.
	Interrupted bool
	// Session is the session the TUI walked (nil if it never started).
	Session *engine.Session
}

// state is the root state; every key and every view switches on it.
type state uint8

const (
	stateLoading state = iota // asking for params before a session exists
	stateRunning              // an act (action + Advance) is in flight
	stateAsking               // a prompt waits for the operator
	stateError                // the session cannot go on (runbook bug, internal error)
	stateDone                 // the session ended
)

func (s state) String() string {
	switch s {
	case stateLoading:
		return "loading"
	case stateRunning:
		return "running"
	case stateAsking:
		return "asking"
	case stateError:
		return "error"
	case stateDone:
		return "done"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// overlay is a modal on top of the state: it gets the keys first.
type overlay uint8

const (
	overlayNone    overlay = iota
	overlayInput           // m.input, for m.purpose
	overlayPicker          // m.picker, for m.purpose
	overlayTree            // the whole tree (g)
	overlayHelp            // full help (?)
	overlayQuit            // quit confirmation (q)
	overlayLook            // one earlier visit, read-only (v)
	overlayExplain         // why a decision went where it went (x; explainview.go)
	overlayPalette         // the command palette (:; palette.go)
	overlayPaths           // the divergence view: hosts by the path they took (p)
)

// purpose says what an input or picker is for.
type purpose uint8

const (
	forNothing purpose = iota
	forParam
	forFixInput
	forDestructive
	forOverridePick
	forOverrideReason
	forBack
	forNote
	forEdit
	forSearch
	forSecret
	forHostKey
	forFixFinal
	forLook
)

// Model is the root model. It alone returns a tea.View.
type Model struct {
	// ctx is the lifetime of the TUI; each run derives its own cancellable
	// context from it so ctrl+c stops one command, not the program.
	ctx    context.Context
	cfg    Config
	keys   keymap.KeyMap
	styles styles.Styles
	now    func() time.Time

	state   state
	overlay overlay
	purpose purpose

	rb      *engine.Runbook
	session *engine.Session
	prompt  *engine.Prompt
	pump    *pump

	run        int
	cancel     context.CancelFunc
	cancelled  map[int]bool
	runStarted time.Time
	lastTick   time.Time
	activity   string
	quitting   bool
	// interrupting: ctrl+c twice; the session stays resumable (no abort).
	interrupting bool
	// Session work in command goroutines (see work, stopWork).
	workMu       sync.Mutex
	workClosed   bool
	working      sync.WaitGroup
	missingTotal int // params missing when the session was first tried
	// before is Config.Before until the first action has run it.
	before      func(ctx context.Context)
	exporting   bool
	ctrlC       int // ctrl+c presses since the last other key
	queuedNotes []string
	edited      bool // the operator edited the pending command
	// deferred is an act's result waiting for the event batch in flight.
	deferred tea.Msg
	// cancelNotice: say on the next prompt that a run was cancelled.
	cancelNotice bool
	// exportRequested: the operator chose "export the bundle, then quit".
	exportRequested bool

	outline outline.Model
	step    steppane.Model
	out     output.Model
	status  statusbar.Model
	choices choices.Model
	picker  choices.Model
	input   input.Model
	pager   viewport.Model
	// paths is the divergence view (paths.go); pathsHost the host drilled into.
	paths     divergence.Model
	pathsHost string
	coll      collect.Model // the current collect step's rows and progress

	// fold is the walk as the streamed events tell it (engine.State),
	// started from the session's when it is made: the outline's marks.
	fold *engine.State

	// Look-back: each visit's output is kept when the next step starts.
	curVisit int
	visitOut map[int]output.Model
	look     *engine.Visit
	lookOut  output.Model
	lookFrom overlay

	missing     []*engine.Param
	paramValues map[string]string
	fixInputs   []*engine.Param
	fixValues   map[string]string
	// fixCommands is the fix rendered with its inputs, per host, exactly as
	// it will be sent (engine.Session.RenderFix): what the operator confirms.
	fixCommands []engine.HostCommand
	overrideTo  string
	request     *Request
	fatal       error
	result      Result

	polls        int       // polls of the current wait that ended
	pollsStarted int       // polls of the current wait that began
	waitStart    time.Time // when the current wait's first poll began (session clock)
	waitTick     time.Time // the session clock at the last frame
	collectFiles int
	collectBytes int64

	width, height int

	// x: the explain view, the palette and read-only replay (explainview.go,
	// palette.go, replay.go).
	x extras
}

// New builds the root model. The session is created here unless params are
// missing, in which case the TUI asks for them first.
func New(ctx context.Context, cfg Config) *Model {
	m := newModel(ctx, cfg)
	m.newSession()
	m.relayout()
	return m
}

// newModel is the model without a session (New creates one; NewReplay
// restores one).
func newModel(ctx context.Context, cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.BatchInterval == 0:
		cfg.BatchInterval = 40 * time.Millisecond
	case cfg.BatchInterval < 0:
		cfg.BatchInterval = 0
	}
	st := styles.DefaultStyles(true)
	if cfg.Styles != nil {
		st = *cfg.Styles
	}
	m := &Model{
		ctx: ctx, cfg: cfg, keys: keymap.DefaultKeyMap(), styles: st, now: cfg.Now,
		rb: cfg.Runbook, pump: newPump(cfg.BatchInterval), cancelled: map[int]bool{},
		paramValues: map[string]string{}, width: 80, height: 24, before: cfg.Before, visitOut: map[int]output.Model{},
	}
	m.lastTick = m.now()
	m.outline = outline.New(cfg.Runbook, st)
	m.step = steppane.New(st)
	m.out = output.New(st)
	m.coll = collect.New(st)
	if cfg.Scrollback > 0 {
		m.out.Cap = cfg.Scrollback
	}
	m.status = statusbar.New(cfg.Runbook, cfg.Options.Targets, st)
	m.status.SetBanner(cfg.Banner)
	m.pager = viewport.New()
	for k, v := range cfg.Options.Params {
		m.paramValues[k] = v
	}
	return m
}

// newSession creates the session, or asks for missing params.
func (m *Model) newSession() {
	opts := m.cfg.Options
	opts.StepMode = true
	opts.Params = m.paramValues
	user := opts.OnEvent
	p := m.pump
	opts.OnEvent = func(e engine.Event) {
		if user != nil {
			user(e)
		}
		p.push(e)
	}
	userProgress := opts.OnProgress
	opts.OnProgress = func(pr engine.CollectProgress) {
		if userProgress != nil {
			userProgress(pr)
		}
		p.setProgress(pr)
	}
	s, err := engine.NewSession(m.rb, opts)
	var miss *engine.MissingParamsError
	switch {
	case errors.As(err, &miss):
		m.state = stateLoading
		m.missing = miss.Params
		m.missingTotal = len(miss.Params)
		m.askParam()
	case err != nil:
		m.state = stateError
		m.fatal = err
	default:
		m.session = s
		m.fold = s.State().Clone()
		m.state = stateRunning
		if st := m.rb.Step(opts.StartAt); st != nil {
			m.outline.SetCurrent(st.ID)
		} else if len(m.rb.Steps) > 0 {
			m.outline.SetCurrent(m.rb.Steps[0].ID)
		}
	}
}

// askParam asks for the first missing param; the form says how many are
// needed in all and which come next, so nothing is a surprise.
func (m *Model) askParam() {
	p := m.missing[0]
	label := p.Name
	if p.Description != "" {
		label += " — " + p.Description
	}
	if p.Prompt != "" {
		label = p.Prompt
	}
	if m.missingTotal > 1 {
		label = fmt.Sprintf("Param %d of %d: %s", m.missingTotal-len(m.missing)+1, m.missingTotal, label)
	}
	hint := p.Describe()
	if len(m.missing) > 1 {
		var next []string
		for _, q := range m.missing[1:] {
			next = append(next, q.Name)
		}
		hint += " · then: " + strings.Join(next, ", ")
	}
	opts := []input.Option{input.WithValidate(func(v string) error { _, err := p.Validate(v); return err })}
	if p.Secret {
		opts = append(opts, input.Masked())
	}
	m.openInput(forParam, label, hint, opts...)
}

// Init starts the event pump, asks for the background colour and, when the
// session exists, takes the first step.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.pump.waitCmd(), m.cfg.Requests.waitCmd()}
	if m.cfg.Styles == nil {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.session != nil {
		cmds = append(cmds, m.act("starting", nil))
	}
	return tea.Batch(cmds...)
}

// Result is how the session ended (after the program returns).
func (m *Model) Result() Result { return m.result }

// Update handles one message. It never does I/O: session work is returned
// as commands.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.relayout()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		if m.state == stateDone {
			m.showEnd() // re-wrap the final screen
		}
		m.showCollectTable()
		return nil
	case tea.BackgroundColorMsg:
		if m.cfg.Styles == nil {
			m.setStyles(styles.DefaultStyles(msg.IsDark()))
		}
		return nil
	case eventsMsg:
		m.applyEvents(msg.events)
		if msg.counted {
			m.pump.inflight.Add(-1)
		}
		if d := m.deferred; d != nil && m.pump.inflight.Load() == 0 {
			m.deferred = nil
			return tea.Batch(m.pump.waitCmd(), m.update(d))
		}
		return m.pump.waitCmd()
	case tickMsg:
		if msg.run != m.run || m.state != stateRunning {
			return nil
		}
		// The model's clock, not the tick's: one clock for every number.
		m.lastTick = m.now()
		m.waitTick = m.waitNow()
		if pr, ok := m.pump.takeProgress(); ok {
			m.coll.SetProgress(pr)
		}
		return m.tickCmd(msg.run)
	case promptMsg:
		if m.pump.inflight.Load() > 0 {
			// A batch of this run's events is on its way: they happened
			// before the prompt, so the prompt waits for them.
			m.deferred = msg
			return nil
		}
		return m.onPrompt(msg)
	case actionErrMsg:
		if msg.run != m.run {
			return nil
		}
		if m.pump.inflight.Load() > 0 {
			m.deferred = msg
			return nil
		}
		m.applyEvents(m.pump.drain())
		m.cancel = nil
		m.state = stateAsking
		if m.prompt != nil && m.prompt.Kind == engine.PromptEnd {
			m.state = stateDone
		}
		m.snapshot()
		m.status.SetMessage(msg.err.Error(), true)
		if m.quitting {
			return m.finalize(false)
		}
		return nil
	case bundleMsg:
		m.exporting = false
		m.result.BundlePath, m.result.BundleErr = msg.path, msg.err
		if msg.err != nil {
			m.status.SetMessage("bundle export failed: "+msg.err.Error(), true)
		} else {
			m.status.SetMessage("bundle written to "+msg.path, false)
		}
		m.showEnd()
		if m.quitting {
			return m.quit()
		}
		return nil
	case finalMsg:
		if msg.path != "" || msg.err != nil {
			m.result.BundlePath, m.result.BundleErr = msg.path, msg.err
		}
		if m.session != nil {
			_, o, text := m.session.Ended()
			m.result.Outcome, m.result.Message = o, text
		}
		return m.quit()
	case requestMsg:
		return m.onRequest(msg.req)
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	// Anything else (cursor blink and such) goes to the active input.
	if m.overlay == overlayInput {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	return nil
}

func (m *Model) quit() tea.Cmd {
	if m.cancel != nil {
		m.cancel() // a forced quit must not leave a command running
	}
	m.pump.close()
	if m.cfg.Requests != nil {
		m.cfg.Requests.Close()
	}
	return tea.Quit
}

func (m *Model) setStyles(st styles.Styles) {
	m.styles = st
	m.outline.SetStyles(st)
	m.step.SetStyles(st)
	m.out.SetStyles(st)
	m.coll.SetStyles(st)
	m.status.SetStyles(st)
}

// onPrompt takes the result of an act.
func (m *Model) onPrompt(msg promptMsg) tea.Cmd {
	if msg.run != m.run {
		return nil
	}
	// Every event of this run was emitted before Advance returned: apply
	// them first so the screen and the prompt agree.
	m.applyEvents(m.pump.drain())
	m.cancel = nil
	if msg.err != nil {
		switch {
		case m.quitting:
			return m.finalize(m.exportOnQuit())
		case isCancel(msg.err) && m.cancelled[msg.run]:
			m.cancelNotice = true
			m.status.SetMessage("command cancelled · enter re-runs · ctrl+c again interrupts (resumable)", false)
			if len(m.session.History()) == 0 {
				// Cancelled before the first step (a pre-step, a host-key
				// question): start again, which runs nothing by itself.
				return m.act("starting", nil)
			}
			// Return to the step's start, so nothing re-runs by itself.
			return m.act("returning to the step", func(s *engine.Session) error { return s.Back(s.Current().ID) })
		}
		m.state = stateError
		m.fatal = msg.err
		m.snapshot()
		return nil
	}
	m.prompt = msg.prompt
	m.snapshot()
	if m.cancelNotice {
		m.cancelNotice = false
		m.out.Info("■ the previous run was cancelled by the operator; its output is not shown")
	}
	if m.quitting {
		return m.finalize(m.exportOnQuit())
	}
	if msg.prompt == nil {
		m.state = stateError
		m.fatal = errors.New("the session returned no prompt")
		return nil
	}
	m.state = stateAsking
	p := msg.prompt
	switch p.Kind {
	case engine.PromptEnd:
		m.state = stateDone
		m.result.Outcome, m.result.Message = p.Outcome, p.Message
		m.showEnd()
		return m.exportCmd()
	case engine.PromptDecided:
		m.showCollectTable()
	case engine.PromptAsk:
		m.choices = choices.New(p.Text, m.answerItems(p), m.styles, m.keys)
	case engine.PromptManual:
		if len(p.Choices) > 0 {
			m.choices = choices.New("Your answer:", m.answerItems(p), m.styles, m.keys)
		}
	}
	return nil
}

// showCollectTable puts a finished collect step's result table in the
// output pane, in place of its running log (again after a resize).
func (m *Model) showCollectTable() {
	p := m.prompt
	if m.state != stateAsking || p == nil || p.Kind != engine.PromptDecided || p.Step.Kind != engine.KindCollect {
		return
	}
	m.out.Reset()
	for _, l := range m.coll.Table(m.computeLayout().mainW) {
		m.out.Info(l)
	}
	m.out.Top()
}

func (m *Model) exportOnQuit() bool { return m.exportRequested }

func (m *Model) answerItems(p *engine.Prompt) []choices.Item {
	var items []choices.Item
	if p.Step.Kind == engine.KindFix { // a rollout that stopped to ask
		for _, c := range p.Choices {
			target := "change no more hosts; the fix's route follows"
			if c == engine.RolloutContinue {
				target = "the next batch"
			}
			items = append(items, choices.Item{Label: c, Value: c, Target: target})
		}
		return items
	}
	for _, c := range p.Step.Choices {
		it := choices.Item{Label: c.Answer, Value: c.Answer, Target: c.Goto}
		if st := m.rb.Step(c.Goto); st != nil {
			it.Target = st.Label()
		}
		items = append(items, it)
	}
	return items
}

// snapshot refreshes what the screen shows from the session. Only called
// while no act runs.
func (m *Model) snapshot() {
	s := m.session
	if s == nil {
		return
	}
	marks := map[string]outline.Mark{}
	for _, v := range s.History() {
		marks[v.Step] = visitMark(v)
	}
	m.outline.SetMarks(marks)
	m.outline.SetCurrent(s.Current().ID)
	p := m.prompt
	if p == nil || p.Step == nil {
		return
	}
	cmd := p.Command
	if h := s.History(); cmd == "" && len(h) > 0 && h[len(h)-1].Step == p.Step.ID {
		cmd = h[len(h)-1].Command
	}
	m.step.SetStep(p.Step, p.Hosts, cmd, m.edited)
	if p.Step.Kind == engine.KindCollect {
		m.step.SetPlan(m.session.CollectPlan(p.Step))
	}
	m.step.SetText(p.Text)
}

// visitMark is the outline mark of one visit (engine.Visit.Status).
func visitMark(v *engine.Visit) outline.Mark {
	switch v.Status() {
	case engine.StatusAnswered:
		return outline.Answered
	case engine.StatusFailed:
		return outline.Failed
	case engine.StatusPassed:
		return outline.Passed
	}
	return outline.Visited
}

// markFromFold sets step's mark from its latest visit in the fold, once
// that visit came to something.
func (m *Model) markFromFold(step string) {
	if m.fold == nil {
		return
	}
	if v, ok := m.fold.Last(step); ok {
		if mk := visitMark(&v); mk != outline.Visited {
			m.outline.SetMark(step, mk)
		}
	}
}

// applyEvents updates the screen from session events while a run streams.
func (m *Model) applyEvents(evs []taggedEvent) {
	for _, te := range evs {
		e := te.ev
		if m.fold != nil {
			m.fold.Apply(e)
		}
		switch e.Type {
		case engine.EvStepEnter:
			m.edited = false
			m.keepOutput()
			m.curVisit = e.Visit
			if strings.HasPrefix(m.status.Message(), "copied ") {
				m.status.SetMessage("", false) // the copy was of the step left behind
			}
			if m.out.SearchTerm() != "" {
				// A search belongs to one step's output: its highlight and
				// its "match 1 of 3" do not follow the walk.
				m.out.Search("")
				if strings.HasPrefix(m.status.Message(), "match ") || strings.HasPrefix(m.status.Message(), "no match ") {
					m.status.SetMessage("", false)
				}
			}
			m.out.Reset()
			m.coll.Reset()
			m.polls, m.pollsStarted, m.waitStart, m.collectFiles, m.collectBytes = 0, 0, time.Time{}, 0, 0
			m.outline.SetCurrent(e.Step)
			if m.outline.Mark(e.Step) == outline.Unvisited {
				m.outline.SetMark(e.Step, outline.Visited)
			}
			if st := m.rb.Step(e.Step); st != nil {
				m.step.SetStep(st, m.hostsOf(st), "", false)
				m.step.SetItem(e.Text)
			}
		case engine.EvCommand:
			if strings.HasPrefix(m.status.Message(), "command cancelled") {
				m.status.SetMessage("", false) // it was about the run before this one
			}
			if st := m.rb.Step(e.Step); st != nil && st.Kind == engine.KindWait {
				m.pollsStarted++
				if m.waitStart.IsZero() {
					m.waitStart = e.Time
					if m.waitStart.IsZero() {
						m.waitStart = m.waitNow()
					}
					m.waitTick = m.waitStart
				}
			}
			if st := m.rb.Step(e.Step); st != nil {
				m.step.SetStep(st, m.hostsOf(st), e.Command, e.Edited)
				m.out.SetHosts(len(m.hostsOf(st)))
			}
		case engine.EvWaitUntil:
			// A timed wait has no polls to show: say until when.
			if t, err := time.Parse(time.RFC3339, e.Text); err == nil {
				m.activity = "waiting until " + t.Format("2006-01-02 15:04:05 MST")
			}
		case engine.EvOutput:
			if m.cancelled[te.run] {
				continue // output of a cancelled run is dropped
			}
			m.out.Write(e.Host, e.Stream == "stderr", e.Data)
		case engine.EvResult:
			m.out.Flush(e.Host)
			m.out.Info(resultLine(e))
			if e.Error != "" && !m.cancelled[te.run] {
				m.status.SetConn(e.Host, statusbar.Broken)
			} else if e.Error == "" {
				m.status.SetConn(e.Host, statusbar.Connected)
			}
			m.markFromFold(e.Step)
		case engine.EvPoll:
			m.polls = e.Poll
			state := "not yet"
			if e.Satisfied {
				state = "satisfied"
			}
			m.markFromFold(e.Step)
			m.out.Info(fmt.Sprintf("— poll %d: %s (%.0fs elapsed)", e.Poll, state, e.Duration))
		case engine.EvCollect:
			m.coll.Add(e)
			if e.Status == "ok" || e.Status == "truncated" {
				m.collectFiles++
				m.collectBytes += e.Bytes
			}
			what := e.Path
			if what == "" {
				what = e.Command
			}
			line := fmt.Sprintf("— collect %s: %s", e.Status, what)
			if e.Bytes > 0 {
				line += " (" + engine.FormatSize(e.Bytes) + ")"
			}
			if e.Error != "" {
				line += ": " + e.Error
			}
			m.out.Info(line)
		case engine.EvError:
			m.out.Info("✗ " + e.Error)
			m.markFromFold(e.Step)
		case engine.EvAnswer:
			m.markFromFold(e.Step)
		case engine.EvSimulated:
			m.out.Info("dry run: " + e.Text)
		case engine.EvNote:
			m.status.SetMessage("note added to "+e.Step, false)
		}
	}
	if d := m.pump.takeDropped(); d > 0 {
		m.out.Info(fmt.Sprintf("… %s of output skipped on screen to keep up (the transcript has it)", engine.FormatSize(d)))
	}
}

// waitNow is the session's clock (a demo's runs fast): a wait's elapsed
// and time left are in the time its polls and timeout are counted in.
func (m *Model) waitNow() time.Time {
	if c := m.cfg.Options.Clock; c != nil {
		return c.Now()
	}
	return m.now()
}

func (m *Model) hostsOf(st *engine.Step) []engine.Host {
	if c := st.Command(); c != nil {
		return m.cfg.Options.Targets[c.On]
	}
	return nil
}

func resultLine(e engine.Event) string {
	host := ""
	if e.Host != "" {
		host = e.Host + ": "
	}
	switch {
	case e.Error != "":
		// A transport error already names its host ("lab: connect…").
		return "— " + host + "transport failed: " + strings.TrimPrefix(e.Error, host)
	case e.TimedOut:
		return fmt.Sprintf("— %stimed out after %.1fs", host, e.Duration)
	case e.Signal != "":
		return fmt.Sprintf("— %skilled by signal %s after %.1fs", host, e.Signal, e.Duration)
	case e.Exit != nil:
		return fmt.Sprintf("— %sexit %d in %.1fs", host, *e.Exit, e.Duration)
	}
	return "— " + host + "finished"
}

// showEnd fills the pager with the final screen.
func (m *Model) showEnd() {
	if m.overlay == overlayHelp || m.overlay == overlayTree {
		return // the pager shows them; closing them shows the end again
	}
	w := m.computeLayout().mainW
	var lines []string
	for _, l := range strings.Split(m.endText(), "\n") {
		// A wrapped line continues under its own indentation.
		plain := ansi.Strip(l)
		indent := strings.Repeat(" ", min(len(plain)-len(strings.TrimLeft(plain, " ")), w/2))
		wrapped := textblock.WrapLines(l, w)
		if len(wrapped) > 1 && indent != "" {
			rest := strings.Join(wrapped[1:], " ")
			wrapped = wrapped[:1]
			for _, wl := range textblock.WrapLines(rest, w-len(indent)) {
				wrapped = append(wrapped, indent+strings.TrimLeft(wl, " "))
			}
		}
		lines = append(lines, wrapped...)
		if l == "" {
			lines = append(lines, "")
		}
	}
	m.pager.SetContent(strings.Join(lines, "\n"))
}

func (m *Model) endText() string {
	s := m.styles
	var b strings.Builder
	o := m.result.Outcome
	badge := s.Success
	switch o {
	case engine.OutcomeEscalated:
		badge = s.Warning
	case engine.OutcomeAborted:
		badge = s.Danger
	}
	b.WriteString(m.replayHeader())
	if o != "" || !m.x.replay {
		b.WriteString(badge.Render("Outcome: "+strings.ToUpper(string(o))) + "\n")
	}
	if m.result.Message != "" {
		b.WriteString(untrusted.Sanitize(m.result.Message) + "\n")
	}
	b.WriteString("\n" + s.Title.Render("Path taken") + "\n")
	if m.session != nil {
		for i, v := range m.session.History() {
			st := m.rb.Step(v.Step)
			label := v.Step
			if st != nil {
				label = st.Label()
			}
			line := fmt.Sprintf("%2d. %s %s", i+1, visitMark(v).Glyph(), untrusted.SanitizeLine(label))
			if v.Edited {
				line += s.Warning.Render(" (command edited)")
			}
			b.WriteString(line + "\n")
			if v.Decision != nil && v.Decision.Explain != "" {
				b.WriteString(s.Muted.Render("      "+untrusted.SanitizeLine(v.Decision.Explain)) + "\n")
			}
		}
		if notes := m.session.Notes(); len(notes) > 0 {
			b.WriteString("\n" + s.Title.Render("Notes") + "\n")
			for _, n := range notes {
				b.WriteString("  • " + untrusted.SanitizeLine(n.Step) + ": " + untrusted.SanitizeLine(n.Text) + "\n")
			}
		}
	}
	b.WriteString("\n")
	switch {
	case m.exporting:
		b.WriteString(s.Muted.Render("Writing the bundle…") + "\n")
	case m.result.BundleErr != nil:
		b.WriteString(s.Danger.Render("Bundle export failed: "+untrusted.SanitizeLine(m.result.BundleErr.Error())) + "\n")
	case m.result.BundlePath != "":
		b.WriteString(s.Title.Render("Bundle: ") + untrusted.SanitizeLine(m.result.BundlePath) + "\n")
	case m.cfg.BundleNote != "":
		b.WriteString(s.Title.Render("Bundle: ") + untrusted.SanitizeLine(m.cfg.BundleNote) + "\n")
	case m.cfg.ExportBundle == nil && !m.x.replay:
		b.WriteString(s.Muted.Render("No bundle configured.") + "\n")
	}
	b.WriteString(s.Muted.Render("q quits"))
	return b.String()
}
