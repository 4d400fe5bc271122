package engine

// Per-host sections: from a step with `per_host: {join: J}`, each host of
// the step's group walks its own path (a lane: a session of its own bound to
// that one host), until it reaches J, where the hosts re-join the group.
// The parent session runs the lanes' automatic work concurrently and shows
// its driver one prompt at a time for a set of lanes waiting at the same
// point (same step, same kind of prompt, same route): answering it answers
// for all of them, Select narrows it to some. Every lane event goes through
// the parent with Event.Lane set, so the journal restores each lane (resume
// mid-section) and the divergence (which host took which path) survives.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// promptJoined: a lane reached its join step (internal; never shown).
const promptJoined PromptKind = "joined"

// fleetState is a session's share of the many-host machinery.
type fleetState struct {
	sec  *section // a per-host section in progress (parent)
	join string   // this session is a lane: it stops at this step
	// laneEvents are a restored parent's lane events since the section's
	// step was last entered, by host.
	laneEvents map[string][]Event
	ro         *rolloutState         // a rollout in progress (rollout.go)
	only       *onlyFailed           // a step rerunning for its failed hosts (onlyfailed.go)
	verified   map[string]HostResult // a restore: the journaled verifications of the rollout in progress
	acceptAt   int                   // a restore: the operator continued the rollout after this many hosts
	lastLanes  map[string][]*Visit   // each host's visits in the last per-host section that closed
}

type section struct {
	start, join *Step
	role        string
	lanes       []*lane
	group       []*lane  // the lanes the pending prompt speaks for
	focus       []string // the hosts the operator acted on last
	picked      []string // the set the pending prompt was narrowed from (Select)
}

type lane struct {
	host Host
	s    *Session
}

func (ln *lane) joined() bool { return ln.s.pending != nil && ln.s.pending.Kind == promptJoined }

// SectionView is what a prompt inside a per-host section says about it.
type SectionView struct {
	Start, Join string
	// Waiting are the sets of hosts waiting at the same point, the one the
	// prompt is for first. Select picks another (or part of one).
	Waiting []LaneGroup
	Joined  []string // hosts already at the join step
}

// LaneGroup is a set of hosts of a per-host section at the same point.
type LaneGroup struct {
	Step  string     `json:"step"`
	Kind  PromptKind `json:"kind"`
	Next  string     `json:"next,omitempty"` // decided: where they would go
	Hosts []string   `json:"hosts"`
}

// fleetStep runs the many-host parts of step: a lane at its join stops,
// a parent in a section drives its lanes, a per_host step opens a section.
// done says whether it handled the step.
func (s *Session) fleetStep(ctx context.Context) (done bool, err error) {
	f := &s.fleet
	if f.join != "" {
		if s.current().ID == f.join {
			s.pending = &Prompt{Kind: promptJoined, Step: s.current()}
			return true, nil
		}
		return false, nil
	}
	if f.sec == nil {
		st := s.current()
		if st.PerHost == nil || st.Command() == nil || len(s.hosts(st.Command().On)) == 0 {
			return false, nil
		}
		if s.st.visit == nil || s.st.visit.Step != st.ID || !s.st.visit.Ended.IsZero() {
			if err := s.enter(st); err != nil {
				return true, err
			}
			f.laneEvents = nil // a new pass through the section
		}
		if err := s.openSection(st); err != nil {
			return true, err
		}
	}
	return true, f.sec.step(ctx, s)
}

func (s *Session) openSection(st *Step) error {
	join := s.rb.Step(st.PerHost.Join)
	if join == nil {
		return fmt.Errorf("step %s: per_host.join %q: no such step", st.ID, st.PerHost.Join)
	}
	sec := &section{start: st, join: join, role: st.Command().On}
	for _, h := range s.hosts(sec.role) {
		ls, err := s.newLane(st, join, h, s.fleet.laneEvents[h.Name], true)
		if err != nil {
			return fmt.Errorf("per-host section %s, host %s: %w", st.ID, h.Name, err)
		}
		sec.lanes = append(sec.lanes, &lane{host: h, s: ls})
	}
	s.fleet.sec = sec
	return nil
}

// newLane is host h's own session through the section that starts at st,
// restored from its journaled events when there are any.
// finish says whether the lane goes on (a restore's finish: interrupted
// work is offered again) or is only read (its path).
func (s *Session) newLane(st, join *Step, h Host, events []Event, finish bool) (*Session, error) {
	o := s.opts
	o.Targets = make(map[string][]Host, len(s.opts.Targets))
	for role, hs := range s.opts.Targets {
		o.Targets[role] = hs
	}
	o.Targets[st.Command().On] = []Host{h}
	o.StartAt, o.Resume, o.Captures, o.Now = st.ID, nil, nil, s.started
	name := h.Name
	o.Settle = nil // the parent's emit settles what its lanes emit
	o.OnEvent = func(e Event) {
		if e.Type == EvSessionStart {
			return
		}
		e.Lane = name
		s.emit(e)
	}
	ls, err := NewSession(s.rb, o)
	if err != nil {
		return nil, err
	}
	// The lane continues the parent's session: its params (defaults are
	// resolved once, for the whole group), answers and earlier steps.
	ls.params, ls.secrets = s.params, s.secrets
	for k, v := range s.st.answers {
		ls.st.answers[k] = v
	}
	for k, v := range s.steps {
		ls.steps[k] = v
	}
	ls.fleet.join = join.ID
	ls.seq = 1 // it never announces a session start of its own
	if len(events) > 0 {
		for i := range events {
			if err := ls.replay(events[i]); err != nil {
				return nil, fmt.Errorf("restore: event %d (%s): %w", events[i].Seq, events[i].Type, err)
			}
		}
		if finish {
			if err := ls.resumed(); err != nil {
				return nil, err
			}
		}
	}
	return ls, nil
}

// step advances every lane that can go on, then joins the section or shows
// one set of waiting lanes.
func (sec *section) step(ctx context.Context, s *Session) error {
	var run []*lane
	for _, ln := range sec.lanes {
		if ln.s.pending == nil {
			run = append(run, ln)
		}
	}
	errs := make([]error, len(run))
	var wg sync.WaitGroup
	for i, ln := range run {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ln.s.Advance(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, ln := range sec.lanes {
		if ln.s.pending != nil && ln.s.pending.Kind == PromptEnd {
			return fmt.Errorf("step %s: host %s's path ended the session inside the per-host section of %s (every path must re-join at %s)", ln.s.current().ID, ln.host.Name, sec.start.ID, sec.join.ID)
		}
	}
	groups := sec.groups()
	if len(groups) == 0 {
		s.closeSection()
		return nil
	}
	// The hosts just acted on first, while they wait again: the operator
	// follows one group until it re-joins. Else the largest set: the hosts
	// that agree, then the ones that differ.
	best, bestFocus := groups[0], -1
	for _, g := range groups {
		f := 0
		for _, ln := range g {
			if slices.Contains(sec.focus, ln.host.Name) {
				f++
			}
		}
		if f > bestFocus || f == bestFocus && len(g) > len(best) {
			best, bestFocus = g, f
		}
	}
	sec.show(s, best)
	return nil
}

// groups sets the waiting lanes apart by where they wait, in host order.
func (sec *section) groups() [][]*lane {
	var keys []string
	by := map[string][]*lane{}
	for _, ln := range sec.lanes {
		if ln.joined() {
			continue
		}
		k := laneKey(ln.s.pending)
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], ln)
	}
	out := make([][]*lane, len(keys))
	for i, k := range keys {
		out[i] = by[k]
	}
	return out
}

func laneKey(p *Prompt) string {
	k := string(p.Kind) + "\x00" + p.Step.ID
	if p.Decision != nil {
		k += "\x00" + p.Decision.Next
	}
	return k
}

// show makes the parent's pending prompt the one of group g.
func (sec *section) show(s *Session, g []*lane) {
	sec.group = g
	first := g[0].s.pending
	p := *first
	p.Hosts = nil
	p.Commands = nil
	for _, ln := range g {
		p.Hosts = append(p.Hosts, ln.host)
		p.Commands = append(p.Commands, ln.s.pending.Commands...)
	}
	p.Text = groupText(g)
	if len(g) > 1 && p.Decision != nil {
		d := *p.Decision
		d.Explain = fmt.Sprintf("%d hosts: %s", len(g), d.Explain)
		p.Decision = &d
	}
	view := &SectionView{Start: sec.start.ID, Join: sec.join.ID}
	view.Waiting = append(view.Waiting, laneGroup(g))
	for _, o := range sec.groups() {
		if o[0] != g[0] {
			view.Waiting = append(view.Waiting, laneGroup(o))
		}
	}
	for _, ln := range sec.lanes {
		if ln.joined() {
			view.Joined = append(view.Joined, ln.host.Name)
		}
	}
	p.Section = view
	s.pending = &p
}

// groupText is the question or instructions of a set of lanes: each lane
// renders its own ({{ targets.ROLE.name }}, its own results), so when they
// differ every host's text is shown, "h1, h3: text" for each distinct one,
// not the first host's alone for all of them.
func groupText(g []*lane) string {
	var texts []string
	hosts := map[string][]string{}
	for _, ln := range g {
		t := ln.s.pending.Text
		if _, ok := hosts[t]; !ok {
			texts = append(texts, t)
		}
		hosts[t] = append(hosts[t], ln.host.Name)
	}
	if len(texts) <= 1 {
		return g[0].s.pending.Text
	}
	parts := make([]string, len(texts))
	for i, t := range texts {
		parts[i] = strings.Join(hosts[t], ", ") + ": " + t
	}
	return strings.Join(parts, "\n\n")
}

func laneGroup(g []*lane) LaneGroup {
	p := g[0].s.pending
	lg := LaneGroup{Step: p.Step.ID, Kind: p.Kind}
	if p.Decision != nil {
		lg.Next = p.Decision.Next
	}
	for _, ln := range g {
		lg.Hosts = append(lg.Hosts, ln.host.Name)
	}
	return lg
}

// Select narrows the pending prompt of a per-host section to some hosts
// (those of one waiting set, or part of it): the next answer, confirmation
// or override is theirs alone; the others wait for theirs.
func (s *Session) Select(hosts []string) error {
	sec := s.fleet.sec
	if sec == nil || s.pending == nil {
		return errors.New("select hosts: no per-host section is waiting")
	}
	if len(hosts) == 0 {
		return errors.New("select hosts: name at least one")
	}
	var g []*lane
	key := ""
	for _, ln := range sec.lanes {
		if !slices.Contains(hosts, ln.host.Name) {
			continue
		}
		if ln.joined() {
			return fmt.Errorf("select hosts: %s already re-joined the group at %s", ln.host.Name, sec.join.ID)
		}
		k := laneKey(ln.s.pending)
		if key != "" && k != key {
			return fmt.Errorf("select hosts: %s waits at %s, %s at %s: pick hosts that wait at the same point", g[0].host.Name, g[0].s.pending.Step.ID, ln.host.Name, ln.s.pending.Step.ID)
		}
		key = k
		g = append(g, ln)
	}
	if len(g) != len(hosts) {
		return fmt.Errorf("select hosts: not all of %s are hosts of the section", strings.Join(hosts, ", "))
	}
	// Narrowed within the set shown, that set stays in focus: after one
	// host of a pair is answered, the other one comes next. Another set
	// picked instead is the focus alone.
	narrowed := len(sec.group) > 0 && laneKey(sec.group[0].s.pending) == key
	if !narrowed {
		sec.picked = nil
	}
	for _, ln := range sec.group {
		if narrowed && !slices.Contains(sec.picked, ln.host.Name) {
			sec.picked = append(sec.picked, ln.host.Name)
		}
	}
	sec.show(s, g)
	return nil
}

// each applies an operator action to every lane of the pending set; keep
// says the prompt stays (an edit, a decline), else the next Advance goes on.
func (sec *section) each(s *Session, keep bool, f func(*Session) error) error {
	if s.pending == nil || len(sec.group) == 0 {
		return ErrNoPrompt
	}
	for _, ln := range sec.group {
		if err := f(ln.s); err != nil {
			return fmt.Errorf("host %s: %w", ln.host.Name, err)
		}
	}
	if keep {
		sec.show(s, sec.group)
		return nil
	}
	sec.focus = append(sec.focus[:0], sec.picked...)
	sec.picked = nil
	for _, ln := range sec.group {
		sec.focus = append(sec.focus, ln.host.Name)
	}
	s.pending, sec.group = nil, nil
	return nil
}

// sectionAction runs an operator action on the lanes when a per-host
// section is in progress; handled says whether it was.
func (s *Session) sectionAction(keep bool, f func(*Session) error) (handled bool, err error) {
	if s.fleet.sec == nil {
		return false, nil
	}
	return true, s.fleet.sec.each(s, keep, f)
}

// sectionRender is RenderFix over the pending lanes.
func (s *Session) sectionRender(inputs map[string]string) ([]HostCommand, error) {
	var out []HostCommand
	for _, ln := range s.fleet.sec.group {
		hc, err := ln.s.RenderFix(inputs)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", ln.host.Name, err)
		}
		out = append(out, hc...)
	}
	return out, nil
}

// sectionInterrupted: some pending lane's step was cut off in an earlier process.
func (s *Session) sectionInterrupted() bool {
	for _, ln := range s.fleet.sec.group {
		if ln.s.Interrupted() {
			return true
		}
	}
	return false
}

// sectionBack handles Back inside a section: to a step on the lanes' own
// paths, the pending lanes go back; to a step before the section, the
// section is abandoned and the parent goes back.
func (s *Session) sectionBack(to string) (handled bool, err error) {
	sec := s.fleet.sec
	if sec == nil {
		return false, nil
	}
	if len(sec.group) > 0 && slices.Contains(sec.group[0].s.PathSteps(), idOf(s.rb, to)) {
		return true, sec.each(s, false, func(ls *Session) error { return ls.Back(to) })
	}
	s.fleet.sec = nil
	return false, nil
}

func idOf(rb *Runbook, idOrRef string) string {
	if st := rb.Step(idOrRef); st != nil {
		return st.ID
	}
	return idOrRef
}

// sectionAuto is AutoAnswer inside a section: each lane's policy answers
// for its own host; the pending set narrows to the hosts that agree with
// the first.
func (s *Session) sectionAuto(st *Step) (choice string, ok bool, err error) {
	sec := s.fleet.sec
	if len(sec.group) == 0 {
		return "", false, ErrNoPrompt
	}
	var same []string
	for i, ln := range sec.group {
		c, o, e := ln.s.AutoAnswer(st)
		if e != nil {
			return "", false, fmt.Errorf("host %s: %w", ln.host.Name, e)
		}
		if i == 0 {
			choice, ok = c, o
		}
		if c == choice && o == ok {
			same = append(same, ln.host.Name)
		}
	}
	if len(same) < len(sec.group) {
		if err := s.Select(same); err != nil {
			return "", false, err
		}
	}
	return choice, ok, nil
}

// closeSection records every host's path, merges what the lanes saw into
// the parent and moves the group to the join step.
func (s *Session) closeSection() {
	sec := s.fleet.sec
	s.fleet.sec = nil
	m := s.mergeLanes(sec)
	// The decision carries what the hosts did (their paths, the start
	// step's results, the group's answers): the fold of the parent never
	// reads lane events (lanes are sessions of their own).
	s.emit(Event{Type: EvDecision, Step: sec.start.ID, Next: sec.join.ID, Expr: "per_host", By: "auto", Explain: Divergence(s.rb, m.paths),
		Paths: m.paths, Results: m.results, Answers: m.answers})
}

// merged is what a per-host section's hosts did, as the decision out of
// it carries it.
type merged struct {
	paths   []HostPath
	results []HostResult      // the start step's, over every host
	answers map[string]string // answered alike by every host: the group's
}

// mergeLanes gives the parent what the section's steps saw, over every
// host: steps.X.results lists the hosts that ran X, steps.START.paths each
// host's path; an answer every lane gave alike is the group's answer.
// What the fold keeps of it (paths, results, answers) it returns, for the
// decision event.
func (s *Session) mergeLanes(sec *section) merged {
	s.fleet.lastLanes = map[string][]*Visit{}
	for _, ln := range sec.lanes {
		s.fleet.lastLanes[ln.host.Name] = ln.s.History()
	}
	var paths []HostPath
	perStep := map[string][]HostResult{}
	var order []string
	for _, ln := range sec.lanes {
		paths = append(paths, lanePath(ln.host.Name, ln.s))
		last := map[string]*Visit{} // a step this host ran twice counts once: its last run
		var mine []string
		for _, v := range ln.s.History() {
			if _, ok := last[v.Step]; !ok {
				mine = append(mine, v.Step)
			}
			last[v.Step] = v
		}
		for _, id := range mine {
			if _, ok := perStep[id]; !ok {
				order = append(order, id)
			}
			perStep[id] = append(perStep[id], last[id].Results...)
		}
	}
	for _, id := range order {
		st := s.rb.Step(id)
		if st == nil {
			continue
		}
		if rs := perStep[id]; len(rs) > 0 {
			s.record(st, rs, nil)
		}
	}
	out := merged{paths: paths, results: perStep[sec.start.ID]}
	list := make([]any, len(paths))
	for i, p := range paths {
		steps := make([]any, len(p.Steps))
		answers := map[string]any{}
		for j, ps := range p.Steps {
			steps[j] = ps.Step
			if ps.Answer != "" {
				answers[ps.Step] = ps.Answer
			}
		}
		list[i] = map[string]any{"host": p.Host, "path": steps, "answers": answers, "last": p.Steps[len(p.Steps)-1].Step}
	}
	m := s.steps[sec.start.ID]
	if m == nil {
		m = map[string]any{}
	}
	m["paths"] = list
	s.steps[sec.start.ID] = m
	answers := map[string]map[string]bool{}
	for _, ln := range sec.lanes {
		for k, v := range ln.s.st.answers {
			if s.st.answers[k] != v {
				if answers[k] == nil {
					answers[k] = map[string]bool{}
				}
				answers[k][v] = true
			}
		}
	}
	for k, vs := range answers {
		if len(vs) == 1 && countAnswered(sec, k) == len(sec.lanes) {
			for v := range vs {
				if out.answers == nil {
					out.answers = map[string]string{}
				}
				out.answers[k] = v
			}
		}
	}
	return out
}

func countAnswered(sec *section, step string) int {
	n := 0
	for _, ln := range sec.lanes {
		if _, ok := ln.s.st.answers[step]; ok {
			n++
		}
	}
	return n
}

// lanePath is the steps a lane visited, in order, with its answers.
func lanePath(host string, ls *Session) HostPath {
	hp := HostPath{Host: host}
	for _, v := range ls.History() {
		ps := PathStep{Step: v.Step, Answer: v.Answer}
		for _, r := range v.Results {
			e := r.Exit
			ps.Exit = &e
			if r.Err != "" {
				ps.Error = r.Err
			}
		}
		if v.Decision != nil {
			ps.Next = v.Decision.Next
		}
		hp.Steps = append(hp.Steps, ps)
	}
	return hp
}

// HostPath is the path one host took through a per-host section.
type HostPath struct {
	Host  string     `json:"host"`
	Steps []PathStep `json:"steps"`
}

// PathStep is one visit on a host's path.
type PathStep struct {
	Step   string `json:"step"`
	Exit   *int   `json:"exit,omitempty"`
	Error  string `json:"error,omitempty"`
	Answer string `json:"answer,omitempty"`
	Next   string `json:"next,omitempty"`
}

// fleetReplay handles the many-host events of a restore before the usual
// replay: lane events are kept for the lanes (which are rebuilt from them
// when the section goes on), and a per_host step's decision gets its paths
// back. It reports whether the event was consumed.
func (s *Session) fleetEvent(e *Event) (bool, error) {
	if e.Lane != "" && s.fleet.join == "" {
		if e.Seq > s.seq {
			s.seq = e.Seq
		}
		if s.fleet.laneEvents == nil {
			s.fleet.laneEvents = map[string][]Event{}
		}
		le := *e
		le.Lane = ""
		s.fleet.laneEvents[e.Lane] = append(s.fleet.laneEvents[e.Lane], le)
		return true, nil
	}
	if e.Type == EvStepEnter {
		s.fleet.verified, s.fleet.acceptAt = nil, 0
	}
	if e.Type == EvRollout && e.Answer == RolloutContinue && s.st.current(e) != nil {
		s.fleet.acceptAt = len(s.st.visit.Results) // continued past the failures among the hosts run so far
		return true, nil
	}
	if id, ok := strings.CutSuffix(e.Step, ":verify"); ok && s.st.visit != nil && s.st.visit.Step == id {
		if s.fleet.verified == nil {
			s.fleet.verified = map[string]HostResult{}
		}
		hr := s.fleet.verified[e.Host]
		hr.Host = e.Host
		switch e.Type {
		case EvCommand:
			hr = HostResult{Host: e.Host}
		case EvOutput:
			if e.Stream == "stdout" {
				hr.Stdout = keepTail(hr.Stdout+e.Data, s.opts.MaxOutput)
			} else {
				hr.Stderr = keepTail(hr.Stderr+e.Data, s.opts.MaxOutput)
			}
		case EvResult:
			hr.Exit, hr.Err, hr.Captures = -1, e.Error, e.Captures
			if e.Exit != nil {
				hr.Exit = *e.Exit
			}
		}
		s.fleet.verified[e.Host] = hr
		return true, nil
	}
	st := s.rb.Step(e.Step)
	if st == nil || st.PerHost == nil || st.Command() == nil || s.fleet.join != "" {
		return false, nil
	}
	switch e.Type {
	case EvStepEnter:
		s.fleet.laneEvents = nil
	case EvDecision:
		if e.Expr != "per_host" || s.st.visit == nil || s.st.visit.Step != st.ID {
			return false, nil
		}
		join := s.rb.Step(st.PerHost.Join)
		if join == nil {
			return false, nil
		}
		sec := &section{start: st, join: join, role: st.Command().On}
		for _, h := range s.hosts(sec.role) {
			ls, err := s.newLane(st, join, h, s.fleet.laneEvents[h.Name], false)
			if err != nil {
				return false, err
			}
			sec.lanes = append(sec.lanes, &lane{host: h, s: ls})
		}
		// Rebuild what closeSection recorded; the replay of the decision
		// itself then moves on as usual. A journal written before the
		// decision carried the paths gets them from the lanes.
		m := s.mergeLanes(sec)
		if e.Paths == nil {
			e.Paths, e.Results, e.Answers = m.paths, m.results, m.answers
		}
		s.fleet.laneEvents = nil
	}
	return false, nil
}

func keepTail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// HostVisits is one host's own visits in the per-host section in progress,
// or else in the last one that closed (nil when there is none): what the
// divergence view shows when the operator drills into a host.
func (s *Session) HostVisits(host string) []*Visit {
	if sec := s.fleet.sec; sec != nil {
		for _, ln := range sec.lanes {
			if ln.host.Name == host {
				return ln.s.History()
			}
		}
		return nil
	}
	return s.fleet.lastLanes[host]
}

// sectionOverride refuses, inside a per-host section, an override to a
// step outside it: a host's path re-joins the group at the join step (which
// is allowed), it never leaves the section on its own.
func (s *Session) sectionOverride(to string) error {
	sec := s.fleet.sec
	if sec == nil {
		return nil
	}
	target := s.rb.Step(to)
	if target == nil || target == sec.join {
		return nil
	}
	for _, st := range sectionOf(s.rb, sec.start, sec.join) {
		if st == target {
			return nil
		}
	}
	return fmt.Errorf("inside the per-host section of %s, a host can go to a step of the section or re-join at %s; %s is outside it", sec.start.ID, sec.join.ID, target.ID)
}

// sectionOf is every step reachable from start without passing join.
func sectionOf(rb *Runbook, start, join *Step) []*Step {
	seen := map[*Step]bool{start: true}
	queue := []*Step{start}
	out := []*Step{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, r := range cur.Routes() {
			if n := rb.Step(r); n != nil && n != join && !seen[n] {
				seen[n] = true
				queue = append(queue, n)
				out = append(out, n)
			}
		}
	}
	return out
}

// PathText is a host's path as one line: "ping → cable=yes → restart"
// (each step, with the answer given there).
func PathText(steps []PathStep) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = s.Step
		if s.Answer != "" {
			parts[i] += "=" + s.Answer
		}
	}
	return strings.Join(parts, " → ")
}
