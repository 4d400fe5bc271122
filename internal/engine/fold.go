package engine

// The fold of the event stream: one Apply that the live session (every
// event it emits) and Restore (every journaled event) both run, so a resumed
// session cannot disagree with the live one about the path taken. Drivers,
// the report and the journal summary fold their event streams with it too
// instead of re-deriving the path from raw events.

import (
	"slices"
	"strings"
	"time"
)

// State is a session's walk as its events tell it: the visits in order,
// what each showed and how it was left, the step the walk is at, and how it
// ended. Build one with NewState and feed it every event, in order, with
// Apply; a Session keeps one (Session.State). Its accessors return copies:
// the state changes only through Apply.
type State struct {
	history []*Visit
	visits  map[string]int
	cur     string
	visit   *Visit // the visit in progress; nil before the first and after a Back
	answers map[string]string
	ended   bool
	outcome Outcome
	message string
	max     int // output tail kept per host and stream

	// The attempt in progress at the current visit.
	slots     []HostResult // one per command announced, in order
	filled    []bool
	out       map[string]*tailWriter // host + "\x00" + stream
	item      string                 // for_each: the item label of the last command
	cmds      []string               // for_each: one command per item
	ran       bool                   // a command, result, poll or collect happened
	polled    bool                   // a poll closed the last round: the next command opens one
	confirmed bool                   // the fix was confirmed
	polls     int
	timed     bool // a timed wait announced its end (wait.until)
	satisfied bool
	elapsed   float64
	last      *Event // the last event that changed the route
}

// NewState is the state before any event: at step start (the first step's
// id, or "" when unknown: the first step.enter says).
func NewState(start string) *State {
	return &State{cur: start, visits: map[string]int{}, answers: map[string]string{}, max: 1 << 20}
}

func newStateFor(start string, maxOutput int) *State {
	f := NewState(start)
	f.max = maxOutput
	return f
}

// Apply folds one event into the state. Events after session.end change
// nothing but notes.
func (f *State) Apply(e Event) {
	if e.Lane != "" {
		return // one host's event inside a per-host section: its lane's own session folds it
	}
	if f.ended && e.Type != EvNote {
		return
	}
	switch e.Type {
	case EvStepEnter:
		f.endVisit(e.Time)
		f.visits[e.Step]++
		v := &Visit{N: len(f.history) + 1, Step: e.Step, Started: e.Time, ItemLabel: e.Text}
		f.history = append(f.history, v)
		f.visit, f.cur = v, e.Step
		f.resetAttempt()
		f.last = &e
	case EvCommand:
		v := f.current(&e)
		if v == nil {
			return
		}
		if f.polled || v.Error != "" {
			// A new poll of a wait step, or the step running again after
			// an error in the same visit (a resumed session).
			f.slots, f.filled, f.out, f.polled = nil, nil, map[string]*tailWriter{}, false
			v.Results, v.Error = nil, ""
		}
		if e.Text != "" { // for_each: one command per item
			if e.Text != f.item {
				f.item = e.Text
				f.cmds = append(f.cmds, e.Command)
			}
			v.Command = strings.Join(f.cmds, "\n")
		} else {
			v.Command = e.Command
		}
		v.Edited = e.Edited
		if !contains(v.Hosts, e.Host) {
			v.Hosts = append(v.Hosts, e.Host)
		}
		f.slots = append(f.slots, HostResult{Host: e.Host, Exit: -1, Item: e.Item})
		f.filled = append(f.filled, false)
		f.ran = true
	case EvOutput:
		if f.current(&e) == nil {
			return
		}
		k := e.Host + "\x00" + e.Stream
		w := f.out[k]
		if w == nil {
			w = &tailWriter{max: f.max}
			f.out[k] = w
		}
		_, _ = w.Write([]byte(e.Data))
		f.ran = true
	case EvResult:
		v := f.current(&e)
		if v == nil {
			return
		}
		hr := HostResult{Host: e.Host, Exit: -1, Signal: e.Signal, TimedOut: e.TimedOut,
			Duration: time.Duration(e.Duration * float64(time.Second)), Captures: e.Captures, Err: e.Error,
			Bytes: e.Bytes, Truncated: e.Truncated}
		if e.Exit != nil {
			hr.Exit = *e.Exit
		}
		if w := f.out[e.Host+"\x00stdout"]; w != nil {
			hr.Stdout = string(w.buf)
		}
		if w := f.out[e.Host+"\x00stderr"]; w != nil {
			hr.Stderr = string(w.buf)
		}
		delete(f.out, e.Host+"\x00stdout")
		delete(f.out, e.Host+"\x00stderr")
		// v.Results are the filled slots in slot order. Hosts finish in any
		// order: the result goes in at its place, in place (the accessors
		// hand out copies of the visit in progress), not by rebuilding the
		// list, which cost a group step O(hosts²).
		i := f.slot(e.Host)
		if i < 0 { // a result without its command (a journal cut mid-write)
			f.slots, f.filled = append(f.slots, hr), append(f.filled, true)
			v.Results = append(v.Results, hr)
		} else {
			hr.Item = f.slots[i].Item
			f.slots[i], f.filled[i] = hr, true
			at := 0
			for _, filled := range f.filled[:i] {
				if filled {
					at++
				}
			}
			v.Results = slices.Insert(v.Results, at, hr)
		}
		f.ran = true
	case EvPoll:
		if v := f.current(&e); v != nil {
			f.polls, f.satisfied, f.elapsed, f.ran, f.polled = e.Poll, e.Satisfied, e.Duration, true, true
			sat := e.Satisfied
			v.Polls, v.Satisfied = e.Poll, &sat
		}
	case EvCollect:
		if f.current(&e) != nil {
			f.ran = true
		}
	case EvKept:
		if v := f.current(&e); v != nil {
			// The visit's results from now on, some of them from no
			// command of its own (onlyfailed.go, rollout.go).
			f.slots = append([]HostResult(nil), e.Results...)
			f.filled = make([]bool, len(f.slots))
			for i := range f.filled {
				f.filled[i] = true
			}
			v.Results = append([]HostResult(nil), e.Results...)
			for _, r := range e.Results {
				if !contains(v.Hosts, r.Host) {
					v.Hosts = append(v.Hosts, r.Host)
				}
			}
		}
	case EvWaitUntil:
		if f.current(&e) != nil {
			f.timed = true
		}
	case EvSimulated:
		if v := f.visitOf(&e); v != nil {
			v.Simulated = true
			v.Would = append(v.Would, e.Text)
			if e.Command != "" {
				v.Command = e.Command
			}
		}
		if f.current(&e) != nil {
			f.ran = true
		}
	case EvError:
		if v := f.visitOf(&e); v != nil {
			v.Error = e.Error
		}
	case EvConfirm:
		if v := f.current(&e); v != nil {
			f.confirmed = true
			v.Confirmed = e.By
		}
	case EvManualDone:
		if v := f.visitOf(&e); v != nil {
			v.DoneBy = e.By
		}
	case EvAnswer:
		f.answers[e.Step] = e.Answer
		if v := f.visitOf(&e); v != nil {
			v.Answer, v.AnswerBy = e.Answer, e.By
		}
	case EvDecision:
		v := f.visitOf(&e)
		if v == nil {
			return
		}
		v.Decision = &Decision{Next: e.Next, Expr: e.Expr, By: e.By, Reason: e.Reason, Explain: e.Explain, Checks: e.Checks}
		if e.Paths != nil { // a per-host section closed: what its hosts did
			v.Paths, v.Results = e.Paths, e.Results
		}
		for k, a := range e.Answers {
			f.answers[k] = a
		}
		if v == f.visit && f.timed && v.Satisfied == nil {
			// A timed wait without a probe: its time came.
			sat := true
			v.Satisfied = &sat
		}
		if v == f.visit && v.Ended.IsZero() {
			v.Ended = e.Time
		}
		f.cur = e.Next
		f.last = &e
	case EvBack:
		f.endVisit(e.Time)
		f.cur, f.visit = e.Step, nil
		f.resetAttempt()
		f.last = &e
	case EvNote:
		if v := f.visitOf(&e); v != nil {
			v.Notes = append(v.Notes, e.Text)
		}
	case EvInterrupted:
		v := f.visitOf(&e)
		if v == nil {
			return
		}
		v.Interrupted = true
		if v == f.visit {
			// The cut-off attempt is offered again in this visit: what it
			// had shown is not its result.
			v.Results, v.Hosts, v.Command, v.Error = nil, nil, "", ""
			f.resetAttempt()
		}
	case EvSessionEnd:
		if e.Step != "" {
			f.cur = e.Step
		}
		f.endVisit(e.Time)
		f.ended, f.outcome, f.message = true, e.Outcome, e.Message
	}
}

func (f *State) endVisit(t time.Time) {
	if f.visit != nil && f.visit.Ended.IsZero() {
		f.visit.Ended = t
	}
}

func (f *State) resetAttempt() {
	f.slots, f.filled, f.out = nil, nil, map[string]*tailWriter{}
	f.item, f.cmds = "", nil
	f.ran, f.polled, f.confirmed = false, false, false
	f.polls, f.satisfied, f.elapsed, f.timed = 0, false, 0, false
}

// slot is the first command announced for host without a result yet.
func (f *State) slot(host string) int {
	for i, r := range f.slots {
		if !f.filled[i] && r.Host == host {
			return i
		}
	}
	return -1
}

// result is host's result in the attempt in progress.
func (f *State) result(host string) (HostResult, bool) {
	for i, r := range f.slots {
		if f.filled[i] && r.Host == host {
			return r, true
		}
	}
	return HostResult{}, false
}

// visitOf is the visit an event belongs to: its Visit number, else the one
// in progress when it is of the same step.
func (f *State) visitOf(e *Event) *Visit {
	if e.Visit > 0 && e.Visit <= len(f.history) && f.history[e.Visit-1].Step == e.Step {
		return f.history[e.Visit-1]
	}
	if f.visit != nil && f.visit.Step == e.Step {
		return f.visit
	}
	return nil
}

// current is the visit in progress when e belongs to it, else nil.
func (f *State) current(e *Event) *Visit {
	if v := f.visitOf(e); v != nil && v == f.visit {
		return v
	}
	return nil
}

// Clone is an independent copy: a driver that folds the events it is
// shown starts from the session's state (a resumed session's history).
func (f *State) Clone() *State {
	c := *f
	c.history = make([]*Visit, len(f.history))
	for i, v := range f.history {
		cv := v.clone()
		c.history[i] = cv
		if v == f.visit {
			cv.Results = slices.Clone(v.Results) // both insert into it in place
			c.visit = cv
		}
	}
	c.visits = make(map[string]int, len(f.visits))
	for k, n := range f.visits {
		c.visits[k] = n
	}
	c.answers = f.Answers()
	c.slots, c.filled = slices.Clone(f.slots), slices.Clone(f.filled)
	c.cmds = slices.Clone(f.cmds)
	c.out = make(map[string]*tailWriter, len(f.out))
	for k, w := range f.out {
		c.out[k] = &tailWriter{max: w.max, buf: slices.Clone(w.buf), full: w.full}
	}
	if f.last != nil {
		e := *f.last
		c.last = &e
	}
	return &c
}

// clone copies v so that appends to either never show in the other.
func (v *Visit) clone() *Visit {
	c := *v
	c.Hosts, c.Results, c.Notes, c.Would = slices.Clip(v.Hosts), slices.Clip(v.Results), slices.Clip(v.Notes), slices.Clip(v.Would)
	if v.Satisfied != nil {
		sat := *v.Satisfied
		c.Satisfied = &sat
	}
	return &c
}

// --- read-only view -------------------------------------------------------

// Current is the id of the step the walk is at: the one in progress, or
// the one a decision, a back or the end named.
func (f *State) Current() string { return f.cur }

// view is a copy of v to hand out: the visit in progress gets results of
// its own (Apply inserts into its list in place) and every list is clipped,
// so that appends to a copy never show in the state.
func (f *State) view(v *Visit) Visit {
	c := *v
	c.Hosts, c.Notes, c.Would = slices.Clip(v.Hosts), slices.Clip(v.Notes), slices.Clip(v.Would)
	if v == f.visit {
		c.Results = slices.Clone(v.Results)
	} else {
		c.Results = slices.Clip(v.Results)
	}
	return c
}

// Visits is every visit so far, in order (copies).
func (f *State) Visits() []Visit {
	out := make([]Visit, len(f.history))
	for i, v := range f.history {
		out[i] = f.view(v)
	}
	return out
}

// Visit is visit n (1-based), as Event.Visit numbers them.
func (f *State) Visit(n int) (Visit, bool) {
	if n < 1 || n > len(f.history) {
		return Visit{}, false
	}
	return f.view(f.history[n-1]), true
}

// InProgress is the visit in progress, if any.
func (f *State) InProgress() (Visit, bool) {
	if f.visit == nil {
		return Visit{}, false
	}
	return f.view(f.visit), true
}

// VisitOf is the number of the visit e belongs to (0 when none): e's Visit
// when given, else the visit in progress when it is of e's step. Call it
// before Apply(e) for the visit e is about to change.
func (f *State) VisitOf(e Event) int {
	if v := f.visitOf(&e); v != nil {
		return v.N
	}
	return 0
}

// Last is the latest visit of step, if it was visited.
func (f *State) Last(step string) (Visit, bool) {
	for i := len(f.history) - 1; i >= 0; i-- {
		if f.history[i].Step == step {
			return f.view(f.history[i]), true
		}
	}
	return Visit{}, false
}

// Status is what step's latest visit came to ("" when never visited).
func (f *State) Status(step string) VisitStatus {
	for i := len(f.history) - 1; i >= 0; i-- {
		if f.history[i].Step == step {
			return f.history[i].Status()
		}
	}
	return ""
}

// Count is how often step was entered.
func (f *State) Count(step string) int { return f.visits[step] }

// Path lists the distinct steps visited, in first-visit order.
func (f *State) Path() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range f.history {
		if !seen[v.Step] {
			seen[v.Step] = true
			out = append(out, v.Step)
		}
	}
	return out
}

// Answers is the answer given at each step, by step id (a copy).
func (f *State) Answers() map[string]string {
	out := make(map[string]string, len(f.answers))
	for k, v := range f.answers {
		out[k] = v
	}
	return out
}

// Ended reports whether the session reached an end, and how.
func (f *State) Ended() (bool, Outcome, string) { return f.ended, f.outcome, f.message }

// VisitStatus is what a visit came to, for marks and summaries.
type VisitStatus string

const (
	// StatusVisited: entered, nothing decided yet.
	StatusVisited VisitStatus = "visited"
	// StatusPassed: its probe succeeded (every host exit 0, or a wait whose
	// condition held), or it was left by a decision.
	StatusPassed VisitStatus = "passed"
	// StatusFailed: an error, a failed probe, or a wait that timed out.
	StatusFailed VisitStatus = "failed"
	// StatusAnswered: a question answered.
	StatusAnswered VisitStatus = "answered"
)

// Status is what the visit came to.
func (v *Visit) Status() VisitStatus {
	switch {
	case v.Answer != "":
		return StatusAnswered
	case v.Error != "":
		return StatusFailed
	case v.Satisfied != nil:
		// A wait: its polls' exit codes are data; the outcome is whether
		// the condition held (still polling until it is left).
		if *v.Satisfied {
			return StatusPassed
		}
		if v.Decision == nil && v.Ended.IsZero() {
			return StatusVisited
		}
		return StatusFailed
	case len(v.Results) > 0:
		for _, r := range v.Results {
			if r.Err != "" || r.Exit != 0 || r.TimedOut || r.Signal != "" {
				return StatusFailed
			}
		}
		return StatusPassed
	case v.Decision != nil:
		return StatusPassed
	}
	return StatusVisited
}

// apply folds one event into the session: the State, and what the session
// itself keeps that follows from the event (its driver-facing pending
// prompt, the env's answers, the per-visit edit and approval). emit calls
// it for every live event and restore for every journaled one: the one
// place both follow.
func (s *Session) apply(e Event) {
	if e.Seq > s.seq {
		s.seq = e.Seq
	}
	if e.Lane != "" {
		return // a lane's event: the lane (its own session) applied it
	}
	wasEnded := s.st.ended
	s.st.Apply(e)
	if wasEnded {
		return
	}
	switch e.Type {
	case EvStepEnter:
		s.approved, s.edited, s.confirmed, s.pending = false, "", "", nil
		s.inputs = map[string]any{} // a fix's inputs belong to its own visit
	case EvDecision, EvBack:
		s.approved, s.edited, s.confirmed, s.pending = false, "", "", nil
	case EvAnswer:
		s.steps[e.Step] = map[string]any{"answer": e.Answer}
	}
	switch e.Type {
	case EvDecision:
		for k, a := range e.Answers { // a per-host section's group answers
			s.steps[k] = map[string]any{"answer": a}
		}
	case EvSessionEnd:
		s.pending = &Prompt{Kind: PromptEnd, Step: s.current(), Outcome: e.Outcome, Message: e.Message}
	}
}
