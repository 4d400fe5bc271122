package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
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
}

// Decision is the route a session took out of a step, and why.
type Decision struct {
	Next    string `json:"next"`
	Expr    string `json:"expr,omitempty"` // the branch expression that held, or else/next/choice
	By      string `json:"by"`             // auto | operator | override | on_error
	Reason  string `json:"reason,omitempty"`
	Explain string `json:"explain"`
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
	Item  any   `json:"item,omitempty"` // for_each: the item this result is for
}

// Visit is one pass through a step.
type Visit struct {
	N         int          `json:"n"`
	Step      string       `json:"step"`
	Started   time.Time    `json:"started"`
	Ended     time.Time    `json:"ended,omitzero"`
	Command   string       `json:"command,omitempty"`
	Edited    bool         `json:"edited,omitempty"`
	Results   []HostResult `json:"results,omitempty"`
	Polls     int          `json:"polls,omitempty"`
	Satisfied *bool        `json:"satisfied,omitempty"`
	Answer    string       `json:"answer,omitempty"`
	Decision  *Decision    `json:"decision,omitempty"`
	Notes     []string     `json:"notes,omitempty"`
	Simulated bool         `json:"simulated,omitempty"`
	Error     string       `json:"error,omitempty"`
	// Interrupted marks a visit whose work was cut off (the process died)
	// and is offered again after a resume (restore.go).
	Interrupted bool `json:"interrupted,omitempty"`
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
	answers map[string]string
	steps   map[string]map[string]any // per-step env: captures, exit, stdout, answer
	inputs  map[string]any
	history []*Visit
	visits  map[string]int

	cur      *Step
	visit    *Visit
	approved bool // step mode: PromptRun accepted
	pending  *Prompt
	edited   string // operator-edited command for the pending probe or fix
	// confirmed is the fix command as Confirm rendered it: what was
	// confirmed is what runs, never a second rendering.
	confirmed string
	ended     bool
	outcome   Outcome
	message   string
	seq       int
	emitMu    sync.Mutex
	compiled  map[string]*Program
	started   time.Time
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
		answers:  map[string]string{},
		steps:    map[string]map[string]any{},
		inputs:   map[string]any{},
		visits:   map[string]int{},
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
	s.cur = start
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
func (s *Session) Current() *Step { return s.cur }

// Pending returns the prompt waiting for an answer, or nil.
func (s *Session) Pending() *Prompt { return s.pending }

// History returns every visit so far, in order.
func (s *Session) History() []*Visit { return s.history }

// Answers returns the answers given so far, by step id.
func (s *Session) Answers() map[string]string { return s.answers }

// Ended reports whether the session reached an end, and how.
func (s *Session) Ended() (bool, Outcome, string) { return s.ended, s.outcome, s.message }

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
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.seq++
	e.Seq = s.seq
	if e.Time.IsZero() {
		e.Time = s.opts.Clock.Now()
	}
	if e.Visit == 0 && s.visit != nil && e.Step == s.visit.Step {
		e.Visit = s.visit.N
	}
	// Every text an event carries may hold a secret (a probe can echo a
	// token into a capture, an error can quote a command): mask them all.
	for _, f := range []*string{&e.Data, &e.Command, &e.Text, &e.Explain, &e.Error, &e.Reason, &e.Message, &e.Path, &e.Expr} {
		*f = s.mask(*f)
	}
	e.Captures = s.maskMap(e.Captures)
	e.Inputs = s.maskMap(e.Inputs)
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
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

func (s *Session) mask(v string) string {
	for _, sec := range s.secrets {
		if sec != "" && strings.Contains(v, sec) {
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
	st := s.cur
	if s.visit == nil || s.visit.Step != st.ID || !s.visit.Ended.IsZero() {
		if err := s.enter(st); err != nil {
			return err
		}
	}
	switch st.Kind {
	case KindEnd:
		s.finish(st.End, s.showText(st, st.Message))
		return nil
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
	s.visits[st.ID]++
	if s.visits[st.ID] > s.opts.MaxVisits {
		return fmt.Errorf("step %s entered %d times: the runbook loops (raise the limit or fix the route)", st.ID, s.visits[st.ID]-1)
	}
	v := &Visit{N: len(s.history) + 1, Step: st.ID, Started: s.opts.Clock.Now()}
	s.history = append(s.history, v)
	s.visit = v
	s.approved = false
	s.edited, s.confirmed = "", ""
	s.inputs = map[string]any{} // a fix's inputs belong to its own visit
	s.emit(Event{Type: EvStepEnter, Step: st.ID, Visit: v.N})
	return nil
}

func (s *Session) finish(o Outcome, msg string) {
	s.ended, s.outcome, s.message = true, o, msg
	if s.visit != nil { // nil after Back to a step that could not be entered again
		s.visit.Ended = s.opts.Clock.Now()
	}
	s.pending = &Prompt{Kind: PromptEnd, Step: s.cur, Outcome: o, Message: msg}
	s.emit(Event{Type: EvSessionEnd, Step: s.cur.ID, Outcome: o, Message: msg})
}

// Abort ends the session as aborted (the operator quit, or automation gave up).
func (s *Session) Abort(reason string) {
	if s.ended {
		return
	}
	if s.visit == nil {
		s.Start()
		_ = s.enter(s.cur)
	}
	s.finish(OutcomeAborted, reason)
}

// fail reports a runbook bug found while running (bad template value and such).
func (s *Session) fail(st *Step, err error) error {
	s.visit.Error = s.mask(err.Error())
	s.emit(Event{Type: EvError, Step: st.ID, Error: err.Error()})
	s.pending = &Prompt{Kind: PromptError, Step: st, Err: err, Command: s.visit.Command, Hosts: s.promptHosts(st)}
	return nil
}

func (s *Session) hosts(role string) []Host { return s.opts.Targets[role] }

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
	steps := make(map[string]any, len(s.rb.Steps))
	for _, x := range s.rb.Steps {
		if m, ok := s.steps[x.ID]; ok {
			steps[x.ID] = m
		} else {
			steps[x.ID] = map[string]any{}
		}
	}
	answers := make(map[string]any, len(s.answers))
	for k, v := range s.answers {
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

func (s *Session) render(st *Step, c *Command) (string, error) {
	if s.edited != "" {
		return s.edited, nil
	}
	if st.Kind == KindFix && s.confirmed != "" {
		return s.confirmed, nil
	}
	if st.ForEach != "" {
		return c.Cmd, nil // one command per item: probeEach renders them
	}
	env := s.env(st)
	t, err := ParseTemplate(c.Cmd, env)
	if err != nil {
		return "", fmt.Errorf("step %s: command: %w", st.ID, err)
	}
	return t.Render(env)
}

func (s *Session) display(st *Step, c *Command) (string, error) {
	if st.Kind == KindFix && len(c.Input) > 0 && len(s.inputs) == 0 && s.edited == "" {
		// Inputs not given yet: every value that is known is rendered; the
		// inputs stay as {{ input.x }} until RenderFix fills them.
		return s.mask(s.renderKnown(st, c.Cmd)), nil
	}
	cmd, err := s.render(st, c)
	return s.mask(cmd), err
}

// tailWriter keeps the last max bytes written to it and forwards everything.
type tailWriter struct {
	max  int
	buf  []byte
	fwd  func(p []byte)
	full int64
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.full += int64(len(p))
	if w.fwd != nil {
		w.fwd(p)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

// probe runs a command on every host of its role, concurrently, and returns
// results in host order. Transport errors are in HostResult.Err.
func (s *Session) probe(ctx context.Context, st *Step, c *Command) ([]HostResult, bool) {
	if st.ForEach != "" && s.edited == "" {
		return s.probeEach(ctx, st, c)
	}
	cmd, err := s.render(st, c)
	if err != nil {
		_ = s.fail(st, err)
		return nil, false
	}
	s.visit.Command, s.visit.Edited = s.mask(cmd), s.edited != ""
	hosts := s.hosts(c.On)
	results := make([]HostResult, len(hosts))
	// Every command event goes out before any host starts: a fast host's
	// result must not land between the command events of the others.
	for _, h := range hosts {
		s.emit(Event{Type: EvCommand, Step: st.ID, Host: h.Name, Command: cmd, Edited: s.edited != "", Sudo: c.Sudo})
	}
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runOne(ctx, st, h, CommandRequest{Step: st.ID, Script: cmd, Sudo: c.Sudo, Timeout: c.Timeout})
		}()
	}
	wg.Wait()
	return results, true
}

func (s *Session) runOne(ctx context.Context, st *Step, h Host, req CommandRequest) HostResult {
	// Output events are masked as a stream (streammask.go): a secret split
	// across two chunks is still masked.
	secrets := func() []string { return s.secrets }
	mo := &streamMask{mask: s.mask, secrets: secrets, emit: func(d string) {
		s.emit(Event{Type: EvOutput, Step: st.ID, Host: h.Name, Stream: "stdout", Data: d})
	}}
	me := &streamMask{mask: s.mask, secrets: secrets, emit: func(d string) {
		s.emit(Event{Type: EvOutput, Step: st.ID, Host: h.Name, Stream: "stderr", Data: d})
	}}
	out := &tailWriter{max: s.opts.MaxOutput, fwd: mo.Write}
	errw := &tailWriter{max: s.opts.MaxOutput, fwd: me.Write}
	res, err := s.opts.Executor.Run(ctx, h, req, out, errw)
	mo.Flush()
	me.Flush()
	hr := HostResult{Host: h.Name, Exit: res.Exit, Signal: res.Signal, TimedOut: res.TimedOut, Duration: res.Duration,
		Stdout: s.mask(string(out.buf)), Stderr: s.mask(string(errw.buf))}
	if err != nil {
		hr.Err, hr.Cause = err.Error(), err
		hr.Exit = -1
	}
	// Captures read the masked output, as stdout does: expressions decide on
	// what the operator sees, and a secret a probe echoes never becomes a value.
	hr.Captures = s.captureValues(st, hr.Stdout)
	e := Event{Type: EvResult, Step: st.ID, Host: h.Name, Signal: res.Signal, TimedOut: res.TimedOut,
		Duration: res.Duration.Seconds(), Captures: hr.Captures, Error: hr.Err,
		Bytes: out.full + errw.full, Truncated: out.full > int64(out.max) || errw.full > int64(errw.max)}
	if err == nil {
		exit := res.Exit
		e.Exit = &exit
	}
	s.emit(e)
	return hr
}

// resultEnv is the probe part of an expression env. For group targets exit
// is the largest exit code (0 only when every host succeeded), stdout and
// stderr are concatenated, and captures come from the first host that has them.
func resultEnv(env Env, results []HostResult, st *Step) {
	exit := 0
	var stdout, stderr strings.Builder
	caps := map[string]any{}
	for _, n := range captureNames(st) {
		caps[n] = nil // did not match (on any host)
	}
	for _, c := range st.Capture {
		if c.Kind != CaptureFirst {
			caps[c.Name] = CaptureValue(c, "")
		}
	}
	list := make([]any, len(results))
	var dur time.Duration
	signal := ""
	timedOut := false
	for i, r := range results {
		timedOut = timedOut || r.TimedOut
		if r.Exit > exit || r.Exit < 0 && exit == 0 {
			exit = r.Exit
		}
		if r.Signal != "" {
			signal = r.Signal
		}
		stdout.WriteString(r.Stdout)
		stderr.WriteString(r.Stderr)
		dur = max(dur, r.Duration)
		m := map[string]any{"host": r.Host, "exit": r.Exit, "stdout": r.Stdout, "stderr": r.Stderr, "signal": r.Signal,
			"timed_out": r.TimedOut, "error": r.Err}
		if r.Item != nil {
			m["item"] = r.Item
		}
		for _, n := range captureNames(st) {
			m[n] = nil
		}
		for k, raw := range r.Captures {
			v := CaptureValue(captureByName(st, k), raw)
			m[k] = v
			if cur, ok := caps[k]; !ok || cur == nil || emptyCapture(cur) && !emptyCapture(v) {
				caps[k] = v
			}
		}
		list[i] = m
	}
	env["exit"] = exit
	env["stdout"] = stdout.String()
	env["stderr"] = stderr.String()
	env["signal"] = signal
	env["timed_out"] = timedOut
	env["duration"] = dur.Seconds()
	env["results"] = list
	env["captures"] = caps
	for k, v := range caps {
		env[k] = v
	}
}

func (s *Session) record(st *Step, results []HostResult, extra map[string]any) {
	s.visit.Results = results
	m := map[string]any{}
	env := Env{}
	resultEnv(env, results, st)
	for _, k := range []string{"exit", "stdout", "stderr", "signal", "timed_out", "duration", "results"} {
		m[k] = env[k]
	}
	for k, v := range env["captures"].(map[string]any) {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	s.steps[st.ID] = m
}

func (s *Session) execute(ctx context.Context, st *Step, c *Command) error {
	results, ok := s.probe(ctx, st, c)
	if !ok {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.record(st, results, nil)
	if err := transportErrors(results); err != nil {
		return s.transportFailure(st, err)
	}
	if err := brokenProbe(st, results); err != nil {
		return s.fail(st, err)
	}
	env := s.env(st)
	resultEnv(env, results, st)
	return s.decide(st, env)
}

// transportErrors keeps each failed host's error value (TransportErrors),
// so drivers decide with errors.Is/As, never by the text.
func transportErrors(results []HostResult) error {
	var errs TransportErrors
	for _, r := range results {
		if r.Err == "" {
			continue
		}
		cause := r.Cause
		if cause == nil {
			cause = errors.New(r.Err)
		}
		errs = append(errs, &TransportError{Host: Host{Name: r.Host}, Err: cause})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (s *Session) transportFailure(st *Step, err error) error {
	msg := err.Error()
	s.visit.Error = s.mask(msg)
	s.emit(Event{Type: EvError, Step: st.ID, Error: msg})
	if st.OnError != "" {
		s.route(st, &Decision{Next: st.OnError, Expr: "on_error", By: "on_error", Explain: "transport failure → " + s.label(st.OnError)})
		return nil
	}
	s.pending = &Prompt{Kind: PromptError, Step: st, Err: err, Command: s.visit.Command, Hosts: s.promptHosts(st)}
	return nil
}

// decide picks the route out of a probe step and, unless in step mode,
// follows it.
func (s *Session) decide(st *Step, env Env) error {
	d, err := s.choose(st, env)
	if err != nil {
		return s.fail(st, err)
	}
	s.visit.Decision = d
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain})
	if s.opts.StepMode {
		s.pending = &Prompt{Kind: PromptDecided, Step: st, Decision: d, Hosts: s.promptHosts(st)}
		return nil
	}
	s.moveTo(d.Next)
	return nil
}

func (s *Session) promptHosts(st *Step) []Host {
	if c := st.Command(); c != nil {
		return s.hosts(c.On)
	}
	return s.collectHosts(st)
}

func (s *Session) choose(st *Step, env Env) (*Decision, error) {
	facts := s.facts(st, env)
	for _, b := range st.Branches {
		// An expression that cannot be evaluated is not false: the step
		// stops with an error that shows what it saw (failure.go).
		ok, err := s.evalBool(st, b.If, env)
		if err != nil {
			return nil, err
		}
		if ok {
			return &Decision{Next: b.Goto, Expr: b.If, By: "auto", Explain: explain(facts, b.If, s.label(b.Goto))}, nil
		}
	}
	switch {
	case st.Else != "":
		return &Decision{Next: st.Else, Expr: "else", By: "auto", Explain: explain(facts, "else", s.label(st.Else))}, nil
	case st.Next != "":
		return &Decision{Next: st.Next, Expr: "next", By: "auto", Explain: explain(facts, "next", s.label(st.Next))}, nil
	}
	return nil, fmt.Errorf("step %s: no branch matched and the step has no else", st.ID)
}

// evalBool evaluates a branch or until expression; any failure is an *ExprError.
func (s *Session) evalBool(st *Step, src string, env Env) (bool, error) {
	p, err := s.program(src, env)
	if err == nil {
		var ok bool
		if ok, err = p.EvalBool(env); err == nil {
			return ok, nil
		}
	}
	return false, s.exprError(st, src, env, err)
}

func (s *Session) program(src string, env Env) (*Program, error) {
	if p, ok := s.compiled[src]; ok {
		return p, nil
	}
	// Compile against the runtime env: it is authoritative and values such as
	// captures are dynamic. A name with no value (a capture that did not
	// match) has no type to check at compile time; it is nil when the
	// expression runs, so has(x) && int(x) > 1 works and int(x) alone fails
	// at run time with the values shown (names themselves were checked by lint).
	p, err := compileRuntimeExpr(src, env)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// facts renders the values a decision was made on: "exit 0, used=93".
func (s *Session) facts(st *Step, env Env) string {
	var parts []string
	results, _ := env["results"].([]any)
	// perHost appends " (h1 v1, h2 v2)" when the hosts of a group disagree:
	// divergence is shown, not hidden behind the aggregate.
	perHost := func(key string, show func(any) string) string {
		if len(results) < 2 {
			return ""
		}
		var vals []string
		first, differ := "", false
		for i, r := range results {
			m, _ := r.(map[string]any)
			v := show(m[key])
			if i == 0 {
				first = v
			}
			differ = differ || v != first
			vals = append(vals, fmt.Sprintf("%v %s", m["host"], v))
		}
		if !differ {
			return ""
		}
		return " (" + strings.Join(vals, ", ") + ")"
	}
	if _, ok := env["exit"]; ok && st.Kind != KindWait {
		parts = append(parts, fmt.Sprintf("exit %v", env["exit"])+perHost("exit", func(v any) string { return fmt.Sprint(v) }))
	}
	if st.Kind == KindWait {
		parts = append(parts, fmt.Sprintf("%v after %v polls", map[bool]string{true: "satisfied", false: "not satisfied"}[env["satisfied"] == true], env["polls"]))
	}
	for _, c := range st.Capture {
		parts = append(parts, c.Name+"="+factOf(env[c.Name])+perHost(c.Name, factOf))
	}
	return strings.Join(parts, ", ")
}

// factOf is factValue for a value that may be missing (a capture that did not match).
func factOf(v any) string {
	if v == nil {
		return "<no match>"
	}
	return factValue(toString(v))
}

// factValue shows a value in an Explain line: short plain words bare
// (used=93), anything else quoted so that empty values, spaces, commas and
// control characters cannot blur the line; long values are cut on a rune
// boundary.
func factValue(v string) string {
	if r := []rune(v); len(r) > 24 {
		v = string(r[:24]) + "…"
	}
	plain := v != ""
	for _, r := range v {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-/%+@", r) {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	return strconv.Quote(v)
}

func explain(facts, why, target string) string {
	if facts == "" {
		return why + " → " + target
	}
	return facts + ": " + why + " → " + target
}

func (s *Session) label(id string) string {
	if st := s.rb.Step(id); st != nil {
		return st.Label()
	}
	return id
}

func (s *Session) route(st *Step, d *Decision) {
	s.visit.Decision = d
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain, Reason: d.Reason})
	s.moveTo(d.Next)
}

func (s *Session) moveTo(id string) {
	s.visit.Ended = s.opts.Clock.Now()
	s.pending = nil
	s.approved = false
	s.edited, s.confirmed = "", ""
	if next := s.rb.Step(id); next != nil {
		s.cur = next
	}
}

func (s *Session) wait(ctx context.Context, st *Step) error {
	w := st.Wait
	start := s.opts.Clock.Now()
	var results []HostResult
	satisfied := false
	polls := 0
	maxPolls := int(w.Timeout/w.Every) + 2
	if s.opts.DryRun {
		maxPolls = 1
	}
	for polls < maxPolls {
		polls++
		var ok bool
		// A poll may not outlive the wait: without this a probe that hangs
		// (and has no timeout of its own) holds an unattended run forever.
		poll := *w.Run
		left := max(w.Timeout-s.opts.Clock.Now().Sub(start), time.Second)
		if poll.Timeout <= 0 || poll.Timeout > left {
			poll.Timeout = left
		}
		results, ok = s.probe(ctx, st, &poll)
		if !ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := transportErrors(results); err != nil {
			s.record(st, results, nil)
			return s.transportFailure(st, err)
		}
		if err := brokenProbe(st, results); err != nil {
			s.record(st, results, nil)
			return s.fail(st, err)
		}
		elapsed := s.opts.Clock.Now().Sub(start)
		env := s.waitEnv(st, results, polls, elapsed)
		var err error
		if satisfied, err = s.evalBool(st, w.Until, env); err != nil {
			s.record(st, results, nil)
			return s.fail(st, err)
		}
		s.emit(Event{Type: EvPoll, Step: st.ID, Poll: polls, Satisfied: satisfied, Duration: elapsed.Seconds()})
		if satisfied || elapsed+w.Every > w.Timeout || s.opts.DryRun {
			break
		}
		if err := s.opts.Clock.Sleep(ctx, w.Every); err != nil {
			return err
		}
	}
	elapsed := s.opts.Clock.Now().Sub(start)
	s.visit.Polls, s.visit.Satisfied = polls, &satisfied
	s.record(st, results, map[string]any{"satisfied": satisfied, "polls": polls, "elapsed": elapsed.Seconds()})
	env := s.waitEnv(st, results, polls, elapsed)
	env["satisfied"] = satisfied
	if len(st.Branches) == 0 && st.Else == "" && st.Next != "" {
		return s.decide(st, env)
	}
	return s.decide(st, env)
}

func (s *Session) waitEnv(st *Step, results []HostResult, polls int, elapsed time.Duration) Env {
	env := s.env(st)
	resultEnv(env, results, st)
	env["polls"] = polls
	env["elapsed"] = elapsed.Seconds()
	env["satisfied"] = false
	return env
}

func (s *Session) collect(ctx context.Context, st *Step) error {
	col := s.opts.Collector
	if col == nil {
		col = discardCollector{}
	}
	cc := &countingCollector{Collector: col, s: s}
	col = cc
	for _, item := range st.Collect {
		for _, h := range s.hosts(item.On) {
			cc.startItem()
			if err := ctx.Err(); err != nil {
				return err
			}
			ictx, cancel := ctx, context.CancelFunc(func() {})
			if item.Timeout > 0 {
				ictx, cancel = context.WithTimeout(ctx, item.Timeout)
			}
			if len(item.Files) > 0 {
				globs, since, err := s.collectWindow(st, item)
				if err != nil {
					cancel()
					return s.fail(st, err)
				}
				err = s.opts.Executor.Fetch(ictx, h, FetchRequest{Step: st.ID, Globs: globs, Since: since, MaxBytes: item.MaxBytes, Sudo: item.Sudo}, col)
				if err != nil {
					// An unreachable host leaves an entry (and the event), so
					// the bundle says what it does not hold.
					status := "error"
					if errors.Is(ictx.Err(), context.DeadlineExceeded) {
						status = "timeout"
					}
					col.Skipped(h, st.ID, RemoteFile{Path: strings.Join(globs, " ")}, status, err.Error())
				} else {
					// A glob that matched nothing is a result too: the
					// operator and the bundle learn it, not only silence.
					for _, g := range cc.unmatched(globs) {
						why := "no file matched"
						if since > 0 {
							why += " (modified within " + shortDuration(since) + ")"
						}
						col.Skipped(h, st.ID, RemoteFile{Path: g}, "empty", why)
					}
				}
			} else {
				cmd, err := s.renderCollect(st, item)
				if err != nil {
					cancel()
					return s.fail(st, err)
				}
				sink := col.Command(h, st.ID, cmd)
				res, err := s.opts.Executor.Run(ictx, h, CommandRequest{Step: st.ID, Script: cmd, Sudo: item.Sudo, Timeout: item.Timeout}, sink, sink)
				if cerr := sink.Close(res, err); cerr != nil && err == nil {
					err = cerr
				}
				status := "ok"
				e := Event{Type: EvCollect, Step: st.ID, Host: h.Name, Command: cmd}
				if err != nil {
					status, e.Error = "error", err.Error()
					if errors.Is(ictx.Err(), context.DeadlineExceeded) {
						status = "timeout"
					}
				} else {
					exit := res.Exit
					e.Exit = &exit
				}
				e.Status = status
				cc.command(status == "ok")
				s.emit(e)
			}
			cancel()
		}
	}
	s.visit.Ended = s.opts.Clock.Now()
	d := &Decision{Next: st.Next, Expr: "next", By: "auto", Explain: cc.summary() + " → " + s.label(st.Next)}
	if st.Next == "" {
		return s.fail(st, fmt.Errorf("step %s: collect has no next", st.ID))
	}
	s.visit.Decision = d
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain})
	if s.opts.StepMode {
		// The operator sees what was collected before the walk goes on.
		s.pending = &Prompt{Kind: PromptDecided, Step: st, Decision: d, Hosts: s.collectHosts(st)}
		return nil
	}
	s.moveTo(d.Next)
	return nil
}

// shortDuration: 20m, 1h30m, 45s (Duration.String says 20m0s).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// CollectPlan is what a collect step will gather, per host, in order:
// each file glob and each command (rendered, secrets masked).
func (s *Session) CollectPlan(st *Step) []CollectPlan {
	var out []CollectPlan
	if st == nil {
		return nil
	}
	for _, item := range st.Collect {
		for _, h := range s.hosts(item.On) {
			p := CollectPlan{Host: h, Files: item.Files, Since: item.Since, MaxBytes: item.MaxBytes}
			if len(item.Files) == 0 {
				cmd, err := s.renderCollect(st, item)
				p.Command = s.mask(cmd)
				if err != nil {
					p.Command, p.Err = item.Cmd, err.Error()
				}
			}
			out = append(out, p)
		}
	}
	return out
}

func (s *Session) renderCollect(st *Step, item *CollectItem) (string, error) {
	env := s.env(st)
	t, err := ParseTemplate(item.Cmd, env)
	if err != nil {
		return "", fmt.Errorf("step %s: collect: %w", st.ID, err)
	}
	return t.Render(env)
}

// simulate records what a fix or collect would do, without doing it (dry run).
func (s *Session) simulate(ctx context.Context, st *Step) error {
	s.visit.Simulated = true
	var what string
	switch st.Kind {
	case KindFix:
		cmd, err := s.render(st, st.Fix)
		if err != nil {
			return s.fail(st, err)
		}
		// One event per host, with the exact command it would have been sent.
		s.visit.Command = s.mask(cmd)
		for _, h := range s.hosts(st.Fix.On) {
			s.emit(Event{Type: EvSimulated, Step: st.ID, Host: h.Name, Command: cmd, Sudo: st.Fix.Sudo,
				Text: "would run on " + h.Name + ": " + cmd})
		}
	case KindCollect:
		var parts []string
		for _, it := range st.Collect {
			if len(it.Files) > 0 {
				parts = append(parts, "files "+strings.Join(it.Files, " ")+" from "+it.On)
			} else {
				parts = append(parts, "output of `"+it.Cmd+"` on "+it.On)
			}
		}
		what = "would collect " + strings.Join(parts, "; ")
	}
	if what != "" {
		s.emit(Event{Type: EvSimulated, Step: st.ID, Text: what})
	}
	next := st.Next
	expr := "next"
	if next == "" {
		next, expr = st.Else, "else"
	}
	if next == "" && len(st.Branches) > 0 {
		next, expr = st.Branches[0].Goto, st.Branches[0].If
	}
	d := &Decision{Next: next, Expr: expr, By: "auto", Explain: "simulated (dry run) → " + s.label(next)}
	s.visit.Decision = d
	s.emit(Event{Type: EvDecision, Step: st.ID, Next: d.Next, Expr: d.Expr, By: d.By, Explain: d.Explain})
	s.moveTo(next)
	return nil
}

// --- driver API -----------------------------------------------------------

// Proceed accepts a PromptRun (run the probe) or a PromptDecided (follow the route).
func (s *Session) Proceed() error {
	p := s.pending
	if p == nil || (p.Kind != PromptRun && p.Kind != PromptDecided) {
		return ErrNoPrompt
	}
	s.pending = nil
	if p.Kind == PromptRun {
		s.approved = true
		return nil
	}
	s.moveTo(p.Decision.Next)
	return nil
}

// Rerun runs the current probe again (PromptDecided or PromptError): a new visit of the same step.
func (s *Session) Rerun() error {
	p := s.pending
	if p == nil || (p.Kind != PromptDecided && p.Kind != PromptError) {
		return ErrNoPrompt
	}
	if s.ended {
		return ErrEnded
	}
	edited := s.edited
	s.visit.Ended = s.opts.Clock.Now()
	s.pending = nil
	if err := s.enter(s.cur); err != nil {
		return err
	}
	s.edited = edited
	if s.cur.Kind != KindFix {
		s.approved = true
	}
	return nil
}

// Retry is Rerun for a transport failure.
func (s *Session) Retry() error { return s.Rerun() }

// EditCommand replaces the command of the pending probe or fix. The edit is
// recorded; the text is used as typed (the operator is the author now).
func (s *Session) EditCommand(cmd string) error {
	p := s.pending
	if p == nil || (p.Kind != PromptRun && p.Kind != PromptConfirm && p.Kind != PromptDecided && p.Kind != PromptError) || s.cur.Command() == nil {
		return ErrNoPrompt
	}
	if strings.TrimSpace(cmd) == "" {
		return errors.New("empty command")
	}
	s.edited = cmd
	p.Command = s.mask(cmd)
	return nil
}

// Answer answers a PromptAsk, or a PromptManual that has choices.
func (s *Session) Answer(choice, by string) error {
	p := s.pending
	if p == nil || (p.Kind != PromptAsk && p.Kind != PromptManual) {
		return ErrNoPrompt
	}
	st := s.cur
	var c *Choice
	for _, x := range st.Choices {
		if strings.EqualFold(x.Answer, choice) {
			c = x
		}
	}
	if c == nil {
		if len(st.Choices) == 0 {
			return fmt.Errorf("step %s takes no answer: confirm it is done", st.ID)
		}
		return fmt.Errorf("%q is not an answer to %s (choices: %s)", choice, st.ID, strings.Join(choiceNames(st), ", "))
	}
	if by == "" {
		by = "operator"
	}
	s.answers[st.ID] = c.Answer
	s.visit.Answer = c.Answer
	s.steps[st.ID] = map[string]any{"answer": c.Answer}
	s.emit(Event{Type: EvAnswer, Step: st.ID, Answer: c.Answer, By: by})
	s.route(st, &Decision{Next: c.Goto, Expr: "choice " + c.Answer, By: by, Explain: fmt.Sprintf("answered %q → %s", c.Answer, s.label(c.Goto))})
	return nil
}

// Done confirms a PromptManual without choices.
func (s *Session) Done(by string) error {
	p := s.pending
	if p == nil || p.Kind != PromptManual {
		return ErrNoPrompt
	}
	if len(s.cur.Choices) > 0 {
		return fmt.Errorf("step %s asks for an answer: %s", s.cur.ID, strings.Join(choiceNames(s.cur), ", "))
	}
	if by == "" {
		by = "operator"
	}
	st := s.cur
	s.emit(Event{Type: EvManualDone, Step: st.ID, By: by})
	if st.Next == "" {
		return s.fail(st, fmt.Errorf("step %s: manual step has no next", st.ID))
	}
	s.route(st, &Decision{Next: st.Next, Expr: "next", By: by, Explain: "done → " + s.label(st.Next)})
	return nil
}

// Confirm approves a pending fix, with values for its inputs. The fix runs on
// the next Advance.
func (s *Session) Confirm(inputs map[string]string, by string) error {
	p := s.pending
	if p == nil || p.Kind != PromptConfirm {
		return ErrNoPrompt
	}
	st := s.cur
	vals, err := fixInputs(st, inputs)
	if err != nil {
		return err
	}
	s.inputs = vals
	for _, in := range st.Fix.Input {
		if v, ok := vals[in.Name]; ok && in.Secret {
			if sv := toString(v); sv != "" && !contains(s.secrets, sv) {
				s.secrets = append(s.secrets, sv)
			}
		}
	}
	if by == "" {
		by = "operator"
	}
	shown := map[string]string{}
	for k, v := range vals {
		shown[k] = toString(v)
	}
	cmd, err := s.render(st, st.Fix)
	if err != nil {
		s.inputs = map[string]any{}
		return err
	}
	s.confirmed = cmd
	s.emit(Event{Type: EvConfirm, Step: st.ID, Inputs: shown, By: by, Command: cmd})
	s.pending = nil
	s.approved = true
	return nil
}

// fixInputs validates the operator's values for st's fix inputs (defaults
// fill the missing ones) and returns them typed; all problems at once.
func fixInputs(st *Step, inputs map[string]string) (map[string]any, error) {
	vals := map[string]any{}
	var errs []error
	for _, in := range st.Fix.Input {
		raw, ok := inputs[in.Name]
		if !ok && in.HasDefault {
			raw, ok = in.Default, true
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%s: required (%s)", in.Name, in.Describe()))
			continue
		}
		v, err := in.Validate(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vals[in.Name] = v
	}
	return vals, errors.Join(errs...)
}

// HostCommand is one command as it will be sent to one host.
type HostCommand struct {
	Host    Host   `json:"host"`
	Command string `json:"command"` // secrets masked
	Sudo    bool   `json:"sudo,omitempty"`
}

// RenderFix renders the pending fix with the given input values, per host,
// exactly as Confirm(inputs) will send it (secrets masked; an edited command
// as edited). It validates the inputs and changes nothing: drivers show it
// for the final confirmation.
func (s *Session) RenderFix(inputs map[string]string) ([]HostCommand, error) {
	p := s.pending
	if p == nil || p.Kind != PromptConfirm {
		return nil, ErrNoPrompt
	}
	st := s.cur
	vals, err := fixInputs(st, inputs)
	if err != nil {
		return nil, err
	}
	saved := s.inputs
	s.inputs = vals
	cmd, err := s.render(st, st.Fix)
	s.inputs = saved
	if err != nil {
		return nil, err
	}
	masked := s.mask(cmd)
	for _, in := range st.Fix.Input { // a secret input is masked like a secret param
		if v, ok := vals[in.Name]; ok && in.Secret {
			if sv := toString(v); sv != "" {
				masked = strings.ReplaceAll(masked, ShellQuote(sv), "******")
				masked = strings.ReplaceAll(masked, sv, "******")
			}
		}
	}
	return s.hostCommands(st.Fix, masked), nil
}

func (s *Session) hostCommands(c *Command, cmd string) []HostCommand {
	var out []HostCommand
	for _, h := range s.hosts(c.On) {
		out = append(out, HostCommand{Host: h, Command: cmd, Sudo: c.Sudo})
	}
	return out
}

// renderKnown renders a command template's parts that do not need a fix
// input; the others stay as written ({{ input.dir }}).
func (s *Session) renderKnown(st *Step, src string) string {
	env := s.env(st)
	t, err := ParseTemplate(src, env)
	if err != nil {
		return src
	}
	var b strings.Builder
	for _, part := range t.parts {
		if part.expr == nil {
			b.WriteString(part.lit)
			continue
		}
		code := "{{ " + part.expr.String() + " }}"
		if strings.Contains(part.expr.String(), "input") {
			b.WriteString(code)
			continue
		}
		one := &Template{src: code, parts: []tmplPart{part}}
		v, err := one.Render(env)
		if err != nil {
			b.WriteString(code)
			continue
		}
		b.WriteString(v)
	}
	return b.String()
}

// Decline refuses a pending fix. The session stays at the step: the driver
// may go back, override the route, or end the session.
func (s *Session) Decline(reason, by string) error {
	p := s.pending
	if p == nil || p.Kind != PromptConfirm {
		return ErrNoPrompt
	}
	s.emit(Event{Type: EvDecline, Step: s.cur.ID, Reason: reason, By: by})
	return nil
}

// Override replaces the route out of the current step with another of its
// declared routes (or any step), recording the operator's reason.
func (s *Session) Override(to, reason string) error {
	if s.ended {
		return ErrEnded
	}
	if strings.TrimSpace(reason) == "" {
		return errors.New("an override needs a reason")
	}
	target := s.rb.Step(to)
	if target == nil {
		return fmt.Errorf("no step %q", to)
	}
	st := s.cur
	if s.visit == nil || s.visit.Step != st.ID {
		return ErrNoPrompt
	}
	from := ""
	if s.visit.Decision != nil {
		from = s.visit.Decision.Next
	}
	s.emit(Event{Type: EvOverride, Step: st.ID, Next: target.ID, Reason: reason, By: "operator", Text: from})
	s.pending = nil
	s.route(st, &Decision{Next: target.ID, Expr: "override", By: "override", Reason: reason,
		Explain: fmt.Sprintf("overridden (%s) → %s", reason, target.Label())})
	return nil
}

// Back returns to an earlier step on the path taken. The visit history is
// kept: going back is itself recorded, and the step is entered afresh.
func (s *Session) Back(to string) error {
	if s.ended {
		return ErrEnded
	}
	target := s.rb.Step(to)
	if target == nil {
		return fmt.Errorf("no step %q", to)
	}
	onPath := false
	for _, v := range s.history {
		if v.Step == target.ID {
			onPath = true
		}
	}
	if !onPath {
		return fmt.Errorf("step %s is not on the path taken", target.ID)
	}
	if s.visit != nil && s.visit.Ended.IsZero() {
		s.visit.Ended = s.opts.Clock.Now()
	}
	s.emit(Event{Type: EvBack, Step: target.ID, Text: s.cur.ID})
	s.pending = nil
	s.approved = false
	s.edited, s.confirmed = "", ""
	s.cur = target
	s.visit = nil
	return nil
}

// PathSteps lists the distinct steps visited, in first-visit order (for `b`).
func (s *Session) PathSteps() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s.history {
		if !seen[v.Step] {
			seen[v.Step] = true
			out = append(out, v.Step)
		}
	}
	return out
}

// Note attaches a note to the current step.
func (s *Session) Note(text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return errors.New("empty note")
	}
	if s.visit == nil {
		s.Start()
		if err := s.enter(s.cur); err != nil {
			return err
		}
	}
	s.visit.Notes = append(s.visit.Notes, text)
	s.emit(Event{Type: EvNote, Step: s.visit.Step, Text: text})
	return nil
}

// Notes returns every note by step, in order.
func (s *Session) Notes() []Event {
	var out []Event
	for _, v := range s.history {
		for _, n := range v.Notes {
			out = append(out, Event{Step: v.Step, Visit: v.N, Text: n})
		}
	}
	return out
}

// AutoAnswer is the answer an ask step's `auto` policy gives: a fixed choice,
// an expression over earlier results that yields a choice, or "stop" (needs
// a human, ok=false).
func (s *Session) AutoAnswer(st *Step) (choice string, ok bool, err error) {
	a := strings.TrimSpace(st.Auto)
	switch {
	case a == "" || a == "stop":
		return "", false, nil
	}
	for _, c := range st.Choices {
		if c.Answer == a {
			return a, true, nil
		}
	}
	v, err := EvalExpr(a, s.env(st))
	if err != nil {
		return "", false, fmt.Errorf("step %s: auto: %w", st.ID, err)
	}
	got := toString(v)
	if got == "stop" {
		return "", false, nil
	}
	return got, true, nil
}

// discardCollector drops collected data (no bundle being written).
type discardCollector struct{}

func (discardCollector) File(ctx context.Context, h Host, step string, f RemoteFile, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discardCollector) Skipped(Host, string, RemoteFile, string, string) {}
func (discardCollector) Command(Host, string, string) CommandSink         { return discardSink{} }

type discardSink struct{}

func (discardSink) Write(p []byte) (int, error)      { return len(p), nil }
func (discardSink) Close(CommandResult, error) error { return nil }

// countingCollector emits a collect event per file so drivers show
// progress, reports bytes as they are read (Options.OnProgress), and keeps
// the paths one item matched so an empty glob is recorded.
type countingCollector struct {
	Collector
	s *Session

	mu       sync.Mutex
	matched  []string // paths the current item delivered or skipped
	files    int
	bytes    int64
	commands int
	skipped  int
}

func (c *countingCollector) command(ok bool) {
	c.mu.Lock()
	if ok {
		c.commands++
	} else {
		c.skipped++
	}
	c.mu.Unlock()
}

func (c *countingCollector) startItem() {
	c.mu.Lock()
	c.matched = c.matched[:0]
	c.mu.Unlock()
}

func (c *countingCollector) saw(path string) {
	c.mu.Lock()
	c.matched = append(c.matched, path)
	c.mu.Unlock()
}

// unmatched is the globs no delivered or skipped path of the current item
// matches (a glob path.Match cannot parse counts as matched: not our call).
func (c *countingCollector) unmatched(globs []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, g := range globs {
		hit := false
		for _, p := range c.matched {
			if ok, err := path.Match(g, p); ok || err != nil {
				hit = true
				break
			}
		}
		if !hit {
			out = append(out, g)
		}
	}
	return out
}

// summary: "collected 3 files (2.1 MiB), 1 skipped".
func (c *countingCollector) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("collected %d file", c.files)
	if c.files != 1 {
		s += "s"
	}
	s += " (" + FormatSize(c.bytes) + ")"
	if c.commands > 0 {
		s += fmt.Sprintf(", %d command output", c.commands)
		if c.commands != 1 {
			s += "s"
		}
	}
	if c.skipped > 0 {
		s += fmt.Sprintf(", %d not collected", c.skipped)
	}
	return s
}

func (c *countingCollector) File(ctx context.Context, h Host, step string, f RemoteFile, r io.Reader) error {
	c.saw(f.Path)
	cr, rr := counted(r) // collect_count.go: keeps Seek, takes the collector's report
	if fn := c.s.opts.OnProgress; fn != nil {
		size := max(f.Size-f.Offset, 0)
		cr.progress = func(n int64) { fn(CollectProgress{Step: step, Host: h.Name, Path: f.Path, Read: n, Size: size}) }
	}
	err := c.Collector.File(ctx, h, step, f, rr)
	status := "ok"
	if f.Truncated() {
		status = "truncated"
	}
	e := Event{Type: EvCollect, Step: step, Host: h.Name, Path: f.Path, Bytes: cr.n, Status: status}
	if cr.rep {
		e.Status, e.Error, e.Bytes = cr.status, cr.reason, cr.stored
	}
	if err != nil {
		e.Status, e.Error = "error", err.Error()
	}
	c.mu.Lock()
	if err == nil {
		c.files++
		c.bytes += cr.n
	} else {
		c.skipped++
	}
	c.mu.Unlock()
	c.s.emit(e)
	return err
}

func (c *countingCollector) Skipped(h Host, step string, f RemoteFile, status, reason string) {
	c.saw(f.Path)
	c.mu.Lock()
	c.skipped++
	c.mu.Unlock()
	c.Collector.Skipped(h, step, f, status, reason)
	c.s.emit(Event{Type: EvCollect, Step: step, Host: h.Name, Path: f.Path, Status: status, Error: reason})
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
