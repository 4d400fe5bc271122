package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// PromptKind says what a session waits for.
type PromptKind string

const (
	// PromptRun: a probe (run, wait, collect) is ready; Proceed runs it. Only in step mode.
	PromptRun PromptKind = "run"
	// PromptDecided: a probe ran and a route was chosen; Proceed follows it,
	// Override picks another. Only in step mode.
	PromptDecided PromptKind = "decided"
	// PromptAsk: a question only a human can answer; Answer.
	PromptAsk PromptKind = "ask"
	// PromptConfirm: a fix waits for explicit confirmation; Confirm or Decline.
	PromptConfirm PromptKind = "confirm"
	// PromptManual: instructions for the operator; Done (or Answer when it has choices).
	PromptManual PromptKind = "manual"
	// PromptError: the transport failed and the step has no on_error; Retry, Back or give up.
	PromptError PromptKind = "error"
	// PromptEnd: the session reached an end step.
	PromptEnd PromptKind = "end"
)

// Prompt is what the session needs from its driver before it can go on.
type Prompt struct {
	Kind     PromptKind
	Step     *Step
	Hosts    []Host
	Command  string    // rendered command as shown to people (secrets masked)
	Choices  []string  // ask / manual with choices
	Decision *Decision // decided
	Inputs   []*Param  // confirm: values the operator must supply
	// Commands: confirm, the command per host exactly as it will be sent
	// (secrets masked). Empty while inputs are missing: RenderFix gives it
	// once they are entered.
	Commands []HostCommand
	Err      error   // error
	Outcome  Outcome // end
	Message  string  // end
	Text     string  // ask: the question; manual: the instructions; filled in ({{ }}), secrets masked
	// Section: the prompt is for a set of hosts inside a per-host section (perhost.go).
	Section *SectionView
}

// Decision is the route a session took out of a step, and why.
type Decision struct {
	Next    string `json:"next"`
	Expr    string `json:"expr,omitempty"` // the branch expression that held, or else/next/choice
	By      string `json:"by"`             // auto | operator | override | on_error
	Reason  string `json:"reason,omitempty"`
	Explain string `json:"explain"`
	// Checks: what an automatic decision tested, in order, with the values
	// each test read (explain.go); empty for answers and overrides.
	Checks []DecisionCheck `json:"checks,omitempty"`
}

// HostResult is what one host's probe produced.
type HostResult struct {
	Host     string            `json:"host"`
	Exit     int               `json:"exit"`
	Signal   string            `json:"signal,omitempty"`
	TimedOut bool              `json:"timed_out,omitempty"`
	Stdout   string            `json:"stdout,omitempty"` // tail, bounded
	Stderr   string            `json:"stderr,omitempty"` // tail, bounded
	Duration time.Duration     `json:"duration"`
	Captures map[string]string `json:"captures,omitempty"`
	Err      string            `json:"error,omitempty"` // transport failure
	// Cause is the executor's error value behind Err, for errors.Is/As
	// (nil after a resume: the journal keeps only the text).
	Cause error `json:"-"`
	Item  any   `json:"item,omitempty"` // for_each: the item this result is for (journaled on its command event)
	// Bytes is how much the command printed (stdout+stderr); Truncated says
	// it was more than the tail kept (Options.MaxOutput).
	Bytes     int64 `json:"bytes,omitempty"`
	Truncated bool  `json:"truncated,omitempty"`
}

// Visit is one pass through a step, as the fold of its events (State)
// tells it.
type Visit struct {
	N       int       `json:"n"`
	Step    string    `json:"step"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// ItemLabel: a step of a for_each call, the item it is for ("slot 2 of
	// 3: 7"), as its step.enter said.
	ItemLabel string `json:"item_label,omitempty"`
	Command   string `json:"command,omitempty"` // as sent, secrets masked; for_each: one line per item
	Edited    bool   `json:"edited,omitempty"`
	// Hosts the command was sent to, in order; Results in the same order
	// (of the last poll, for a wait).
	Hosts     []string     `json:"hosts,omitempty"`
	Results   []HostResult `json:"results,omitempty"`
	Polls     int          `json:"polls,omitempty"`
	Satisfied *bool        `json:"satisfied,omitempty"`
	Answer    string       `json:"answer,omitempty"`
	AnswerBy  string       `json:"answer_by,omitempty"`    // operator, flag, policy...
	DoneBy    string       `json:"done_by,omitempty"`      // a manual step confirmed done
	Confirmed string       `json:"confirmed_by,omitempty"` // a fix confirmed, by whom
	Decision  *Decision    `json:"decision,omitempty"`
	Notes     []string     `json:"notes,omitempty"`
	Simulated bool         `json:"simulated,omitempty"`
	Would     []string     `json:"would,omitempty"` // dry run: what it would have done
	Error     string       `json:"error,omitempty"`
	// Interrupted marks a visit whose work was cut off (the process died)
	// and is offered again after a resume (restore.go).
	Interrupted bool `json:"interrupted,omitempty"`
	// Paths: a per_host step's visit, each host's path through the section.
	Paths []HostPath `json:"paths,omitempty"`
}

// Clock lets tests run wait steps without sleeping.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Options configure a Session.
type Options struct {
	Executor Executor
	// Targets binds each role to one or more hosts.
	Targets map[string][]Host
	// Params are raw values from the command line or the operator; they are
	// validated against their declared types. Missing params fall back to
	// their defaults; NewSession fails with MissingParamsError otherwise.
	Params map[string]string
	// StepMode pauses before every probe and after every automatic decision
	// (PromptRun, PromptDecided), so an operator can run, re-run, edit or
	// override. The unattended driver leaves it off.
	StepMode bool
	// DryRun runs only read-only probes; fixes and collects are simulated.
	DryRun bool
	// Collector receives collected files and command outputs; nil discards them.
	Collector Collector
	// OnEvent observes every event, synchronously, in order.
	OnEvent func(Event)
	// Settle, when set, is called with every event after OnEvent, outside
	// the lock that orders events and before the emitter goes on: a sink
	// that must make an event durable (the journal's fsync) waits here,
	// so hosts finishing together share one wait (group commit) and none
	// holds up another's events meanwhile.
	Settle func(Event)
	// OnProgress observes collected files' bytes as they are read (from the
	// executor's goroutine; it must not block). Optional.
	OnProgress func(CollectProgress)
	// Clock defaults to the real one.
	Clock Clock
	// MaxOutput bounds the stdout/stderr tail kept per host for expressions and
	// display (default 1 MiB). The full output still flows through events.
	MaxOutput int
	// MaxVisits bounds how often one step may be entered (default 50), so a
	// loop in a runbook cannot spin forever unattended.
	MaxVisits int
	// StartAt begins at this step (id or ref) instead of the first.
	StartAt string
	// Now is the session start time (default: Clock.Now()).
	Now time.Time
	// Captures presets values earlier steps would have captured, by step id
	// then name, for a session that starts mid-procedure (StartAt). See restore.go.
	Captures map[string]map[string]string
	// Resume replays a journaled session's events: position, history,
	// answers and captures come back; nothing is re-run. See restore.go.
	Resume []Event
	// OnlyFailed (with Resume): the step the session resumes at runs again
	// for only the hosts that failed it (onlyfailed.go).
	OnlyFailed bool
}

// MissingParamsError lists params that have neither a value nor a default.
type MissingParamsError struct{ Params []*Param }

func (e *MissingParamsError) Error() string {
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	return "missing params: " + strings.Join(names, ", ") + " (pass --param NAME=VALUE)"
}

// ErrEnded is returned when a session that has ended is asked to do more.
var ErrEnded = errors.New("session has ended")

// ErrNoPrompt is returned when an answer arrives that no prompt asked for.
var ErrNoPrompt = errors.New("no such prompt pending")

// Session walks one runbook. It is not safe for concurrent use: one driver
// goroutine calls its methods. OnEvent calls are serialised, but may come
// from the executor goroutines of a multi-host probe.
type Session struct {
	rb   *Runbook
	opts Options

	params  map[string]any
	secrets []string
	steps   map[string]map[string]any // per-step env: captures, exit, stdout, answer
	inputs  map[string]any
	// st is the fold of every event so far (fold.go): the path, the visit
	// in progress, the step the walk is at, the answers, how it ended.
	// Only apply changes it, for live events and restored ones alike.
	st     *State
	curID  string
	curStp *Step // cache of the step st.cur names

	approved bool // step mode: PromptRun accepted
	pending  *Prompt
	edited   string // operator-edited command for the pending probe or fix
	// confirmed is the fix command as Confirm rendered it: what was
	// confirmed is what runs, never a second rendering.
	confirmed string
	seq       int
	emitMu    sync.Mutex
	compiled  map[string]*Program
	started   time.Time
	fleet     fleetState // per-host sections and rollouts (perhost.go, rollout.go)
}

// NewSession validates params and bindings and positions the session at the
// first step (or Options.StartAt). Nothing runs until Advance.
func NewSession(rb *Runbook, opts Options) (*Session, error) {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = 1 << 20
	}
	if opts.MaxVisits <= 0 {
		opts.MaxVisits = 50
	}
	if opts.Now.IsZero() {
		opts.Now = opts.Clock.Now()
	}
	s := &Session{
		rb: rb, opts: opts,
		steps:    map[string]map[string]any{},
		inputs:   map[string]any{},
		compiled: map[string]*Program{},
		started:  opts.Now,
	}
	for _, t := range rb.Targets {
		hs := opts.Targets[t.Name]
		if len(hs) == 0 && s.usesTarget(t.Name) {
			return nil, fmt.Errorf("target %q is not bound (pass --target %s=HOST)", t.Name, t.Name)
		}
		if len(hs) > 1 && !t.Group {
			return nil, fmt.Errorf("target %q takes one host, got %d (declare it `group: true` for several)", t.Name, len(hs))
		}
	}
	for role := range opts.Targets {
		if rb.Target(role) == nil {
			return nil, fmt.Errorf("unknown target %q (this runbook declares: %s)", role, strings.Join(targetNames(rb), ", "))
		}
	}
	params, secrets, err := ResolveParams(rb, opts.Params, opts.Targets)
	if err != nil {
		return nil, err
	}
	s.params, s.secrets = params, secrets
	start := rb.Steps[0]
	if opts.StartAt != "" {
		if start = rb.Step(opts.StartAt); start == nil {
			return nil, fmt.Errorf("--start-at %q: no such step", opts.StartAt)
		}
	}
	s.st = newStateFor(start.ID, opts.MaxOutput)
	if err := s.restore(opts); err != nil {
		return nil, err
	}
	return s, nil
}

func targetNames(rb *Runbook) []string {
	var out []string
	for _, t := range rb.Targets {
		out = append(out, t.Name)
	}
	return out
}

func (s *Session) usesTarget(name string) bool {
	for _, st := range s.rb.Steps {
		if c := st.Command(); c != nil && c.On == name {
			return true
		}
		for _, c := range st.Collect {
			if c.On == name {
				return true
			}
		}
	}
	return false
}

// ResolveParams validates given values and fills defaults (defaults may be
// templates over targets and earlier params). It returns the typed values and
// the secret values to mask.
func ResolveParams(rb *Runbook, given map[string]string, targets map[string][]Host) (map[string]any, []string, error) {
	for name := range given {
		if rb.Param(name) == nil {
			return nil, nil, fmt.Errorf("unknown param %q", name)
		}
	}
	out := map[string]any{}
	var secrets []string
	var missing []*Param
	var errs []error
	for _, p := range rb.Params {
		raw, ok := given[p.Name]
		if !ok && p.HasDefault {
			env := Env{"params": out, "targets": targetsEnv(rb, targets)}
			t, err := ParseTemplate(p.Default, env)
			if err == nil {
				raw, err = t.RenderRaw(env)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("param %s: default: %w", p.Name, err))
				continue
			}
			ok = true
		}
		if !ok {
			missing = append(missing, p)
			continue
		}
		v, err := p.Validate(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[p.Name] = v
		if p.Secret && raw != "" {
			secrets = append(secrets, raw)
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("invalid params: %w", errors.Join(errs...))
	}
	if len(missing) > 0 {
		return nil, nil, &MissingParamsError{Params: missing}
	}
	return out, secrets, nil
}

func targetsEnv(rb *Runbook, targets map[string][]Host) map[string]any {
	out := map[string]any{}
	for _, t := range rb.Targets {
		hs := targets[t.Name]
		var names, addrs []any
		for _, h := range hs {
			names = append(names, h.Name)
			addrs = append(addrs, h.Address())
		}
		m := map[string]any{"name": "", "address": "", "user": "", "hosts": names, "addresses": addrs}
		if len(hs) > 0 {
			m["name"], m["address"], m["user"] = hs[0].Name, hs[0].Address(), hs[0].User()
		}
		out[t.Name] = m
	}
	return out
}

// Runbook returns the runbook being walked.
func (s *Session) Runbook() *Runbook { return s.rb }

// Current returns the step the session is at.
func (s *Session) Current() *Step {
	if sec := s.fleet.sec; sec != nil && len(sec.group) > 0 {
		return sec.group[0].s.current() // inside a per-host section: where the pending hosts are
	}
	return s.current()
}

// current is the step the walk is at (State.Current), except while an
// automatic decision waits for the operator (step mode): then the step that
// decided, until Proceed follows the route.
func (s *Session) current() *Step {
	if p := s.pending; p != nil && p.Kind == PromptDecided && p.Step != nil && p.Section == nil {
		return p.Step
	}
	if s.st.cur != s.curID || s.curStp == nil {
		s.curID, s.curStp = s.st.cur, s.rb.Step(s.st.cur)
	}
	return s.curStp
}

// State is the fold of the session's events so far: the path taken, each
// visit, the current step, how it ended. The same rules rebuild it from a
// journal (Restore), so a resumed session agrees with the live one.
func (s *Session) State() *State { return s.st }

// Pending returns the prompt waiting for an answer, or nil.
func (s *Session) Pending() *Prompt { return s.pending }

// History returns every visit so far, in order.
func (s *Session) History() []*Visit { return s.st.history }

// Answers returns the answers given so far, by step id.
func (s *Session) Answers() map[string]string { return s.st.answers }

// Ended reports whether the session reached an end, and how.
func (s *Session) Ended() (bool, Outcome, string) { return s.st.ended, s.st.outcome, s.st.message }

// Targets returns the bound hosts by role.
func (s *Session) Targets() map[string][]Host { return s.opts.Targets }

// Params returns the resolved params with secret values masked.
func (s *Session) Params() map[string]string {
	out := map[string]string{}
	for _, p := range s.rb.Params {
		if v, ok := s.params[p.Name]; ok {
			out[p.Name] = toString(v)
			if p.Secret {
				out[p.Name] = "******"
			}
		}
	}
	return out
}

// Secrets returns the secret param values, for redaction.
func (s *Session) Secrets() []string { return s.secrets }

// Start emits session.start. Drivers call it once before the first Advance
// (Advance calls it if they did not).
func (s *Session) Start() {
	if s.seq > 0 {
		return
	}
	tg := map[string][]string{}
	for role, hs := range s.opts.Targets {
		for _, h := range hs {
			tg[role] = append(tg[role], h.Name)
		}
	}
	s.emit(Event{Type: EvSessionStart, Runbook: s.rb.ID, SHA256: s.rb.SHA256, Targets: tg, Params: s.Params()})
}

func (s *Session) emit(e Event) {
	e = s.emitLocked(e)
	if s.opts.Settle != nil {
		s.opts.Settle(e)
	}
}

// emitLocked numbers, masks, folds and hands e to OnEvent, in order with
// every other event; it returns e as the sinks saw it.
func (s *Session) emitLocked(e Event) Event {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.seq++
	e.Seq = s.seq
	if e.Time.IsZero() {
		e.Time = s.opts.Clock.Now()
	}
	if e.Visit == 0 && s.st.visit != nil && e.Step == s.st.visit.Step {
		e.Visit = s.st.visit.N
	}
	// Every text an event carries may hold a secret (a probe can echo a
	// token into a capture, an error can quote a command): mask them all.
	for _, f := range []*string{&e.Data, &e.Command, &e.Text, &e.Explain, &e.Error, &e.Reason, &e.Message, &e.Path, &e.Expr} {
		*f = s.mask(*f)
	}
	e.Captures = s.maskMap(e.Captures)
	e.Inputs = s.maskMap(e.Inputs)
	e.Item = s.maskValue(e.Item)
	e.Results = s.maskResults(e.Results)
	e.Answers = s.maskMap(e.Answers)
	s.apply(e)
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
	return e
}

func (s *Session) maskMap(m map[string]string) map[string]string {
	if len(m) == 0 || len(s.secrets) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = s.mask(v)
	}
	return out
}

// maskResults masks what results carried by an event show.
func (s *Session) maskResults(rs []HostResult) []HostResult {
	if len(rs) == 0 || len(s.secrets) == 0 {
		return rs
	}
	out := make([]HostResult, len(rs))
	for i, r := range rs {
		r.Stdout, r.Stderr, r.Err, r.Signal = s.mask(r.Stdout), s.mask(r.Stderr), s.mask(r.Err), s.mask(r.Signal)
		r.Captures = s.maskMap(r.Captures)
		r.Item = s.maskValue(r.Item)
		out[i] = r
	}
	return out
}

// maskValue masks the strings inside a value (a for_each item).
func (s *Session) maskValue(v any) any {
	if len(s.secrets) == 0 {
		return v
	}
	switch x := v.(type) {
	case string:
		return s.mask(x)
	case []any:
		out := make([]any, len(x))
		for i, y := range x {
			out[i] = s.maskValue(y)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, y := range x {
			out[k] = s.maskValue(y)
		}
		return out
	}
	return v
}

func (s *Session) mask(v string) string {
	for _, sec := range s.secrets {
		if sec == "" {
			continue
		}
		// A command holds the value shell-quoted: a quote in it is written
		// '"'"', so the text as typed is not in the command. Mask that form first.
		if q := ShellQuote(sec); q != sec && strings.Contains(v, q) {
			v = strings.ReplaceAll(v, q, "******")
		}
		if strings.Contains(v, sec) {
			v = strings.ReplaceAll(v, sec, "******")
		}
	}
	return v
}

// Advance runs automatic work until the session needs its driver: a prompt,
// or an end. It returns the pending prompt. Errors are for the driver
// (cancelled context, runbook bugs such as a loop); transport failures
// become PromptError or route through on_error.
func (s *Session) Advance(ctx context.Context) (*Prompt, error) {
	s.Start()
	for range 100000 {
		if s.pending != nil {
			return s.pending, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.step(ctx); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("runbook %s: too many automatic steps without a prompt", s.rb.ID)
}

// step does the next piece of work on the current step.
func (s *Session) step(ctx context.Context) error {
	if done, err := s.fleetStep(ctx); done {
		return err
	}
	st := s.current()
	if s.st.visit == nil || s.st.visit.Step != st.ID || !s.st.visit.Ended.IsZero() {
		if err := s.enter(st); err != nil {
			return err
		}
	}
	switch st.Kind {
	case KindEnd:
		if st.End == OutcomeReturn {
			return s.returnFrom(st)
		}
		s.finish(st.End, s.showText(st, st.Message))
		return nil
	case KindCall:
		return s.enterCall(st)
	case KindAsk:
		s.pending = &Prompt{Kind: PromptAsk, Step: st, Choices: choiceNames(st), Text: s.showText(st, st.Ask)}
		return nil
	case KindManual:
		s.pending = &Prompt{Kind: PromptManual, Step: st, Choices: choiceNames(st), Text: s.showText(st, st.Manual)}
		return nil
	case KindFix:
		if !s.approved {
			cmd, err := s.display(st, st.Fix)
			if err != nil {
				return s.fail(st, err)
			}
			p := &Prompt{Kind: PromptConfirm, Step: st, Hosts: s.hosts(st.Fix.On), Command: cmd, Inputs: st.Fix.Input}
			if len(st.Fix.Input) == 0 {
				p.Commands = s.hostCommands(st.Fix, cmd)
			}
			s.pending = p
			return nil
		}
		if s.opts.DryRun {
			return s.simulate(ctx, st)
		}
		if st.Rollout != nil {
			return s.rolloutStep(ctx, st)
		}
		return s.execute(ctx, st, st.Fix)
	case KindRun, KindWait, KindCollect:
		if s.opts.StepMode && !s.approved {
			p := &Prompt{Kind: PromptRun, Step: st}
			if c := st.Command(); c != nil {
				p.Hosts = s.hosts(c.On)
				cmd, err := s.display(st, c)
				if err != nil {
					return s.fail(st, err)
				}
				p.Command = cmd
			} else {
				p.Hosts = s.collectHosts(st)
			}
			s.pending = p
			return nil
		}
		switch st.Kind {
		case KindRun:
			return s.execute(ctx, st, st.Run)
		case KindWait:
			return s.wait(ctx, st)
		default:
			if s.opts.DryRun {
				return s.simulate(ctx, st)
			}
			return s.collect(ctx, st)
		}
	}
	return fmt.Errorf("step %s: unknown kind %q", st.ID, st.Kind)
}

func choiceNames(st *Step) []string {
	out := make([]string, len(st.Choices))
	for i, c := range st.Choices {
		out[i] = c.Answer
	}
	return out
}

func (s *Session) enter(st *Step) error {
	if n := s.st.visits[st.ID]; n >= s.opts.MaxVisits {
		return fmt.Errorf("step %s entered %d times: the runbook loops (raise the limit or fix the route)", st.ID, n)
	}
	s.emit(Event{Type: EvStepEnter, Step: st.ID, Visit: len(s.st.history) + 1, Text: s.ItemLabel(st)})
	return nil
}

func (s *Session) finish(o Outcome, msg string) {
	s.emit(Event{Type: EvSessionEnd, Step: s.current().ID, Outcome: o, Message: msg})
}

// Abort ends the session as aborted (the operator quit, or automation gave up).
func (s *Session) Abort(reason string) {
	if s.st.ended {
		return
	}
	if s.st.visit == nil {
		s.Start()
		_ = s.enter(s.current())
	}
	s.finish(OutcomeAborted, reason)
}

// fail reports a runbook bug found while running (bad template value and such).
func (s *Session) fail(st *Step, err error) error {
	s.emit(Event{Type: EvError, Step: st.ID, Error: err.Error()})
	s.pending = &Prompt{Kind: PromptError, Step: st, Err: err, Command: s.st.visit.Command, Hosts: s.promptHosts(st)}
	return nil
}

func (s *Session) hosts(role string) []Host { return s.onlyHosts(role, s.opts.Targets[role]) }

func (s *Session) collectHosts(st *Step) []Host {
	seen := map[string]bool{}
	var out []Host
	for _, c := range st.Collect {
		for _, h := range s.hosts(c.On) {
			if !seen[h.Name] {
				seen[h.Name] = true
				out = append(out, h)
			}
		}
	}
	return out
}

// env is what expressions and templates see at step st.
func (s *Session) env(st *Step) Env {
	if st != nil && st.Frame != nil {
		return s.frameEnv(st)
	}
	steps := make(map[string]any, len(s.rb.Steps))
	for _, x := range s.rb.Steps {
		if m, ok := s.steps[x.ID]; ok {
			steps[x.ID] = m
		} else {
			steps[x.ID] = map[string]any{}
		}
	}
	answers := make(map[string]any, len(s.st.answers))
	for k, v := range s.st.answers {
		answers[k] = v
	}
	return Env{
		"params":  s.params,
		"answers": answers,
		"steps":   steps,
		"targets": targetsEnv(s.rb, s.opts.Targets),
		"input":   s.inputs,
		"now":     s.opts.Clock.Now,
		"visits":  s.visitCount,
	}
}

// SortedKeys is a small helper for deterministic output of maps.
func SortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
