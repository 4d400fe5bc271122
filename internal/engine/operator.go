package engine

// The driver API: what the operator (TUI or auto driver) does to a
// pending prompt (proceed, rerun, answer, override, back, note, ...).

import (
	"errors"
	"fmt"
	"strings"
)

// Proceed accepts a PromptRun (run the probe) or a PromptDecided (follow the route).
func (s *Session) Proceed() error {
	if ok, err := s.sectionAction(false, func(l *Session) error { return l.Proceed() }); ok {
		return err
	}
	p := s.pending
	if p == nil || (p.Kind != PromptRun && p.Kind != PromptDecided) {
		return ErrNoPrompt
	}
	s.pending = nil
	if p.Kind == PromptRun {
		s.approved = true
		return nil
	}
	// The decision moved the walk on (apply); an edit made while it was
	// shown is not for the next step.
	s.edited = ""
	return nil
}

// Rerun runs the current probe again (PromptDecided or PromptError): a new visit of the same step.
func (s *Session) Rerun() error {
	if ok, err := s.sectionAction(false, func(l *Session) error { return l.Rerun() }); ok {
		return err
	}
	p := s.pending
	if p == nil || (p.Kind != PromptDecided && p.Kind != PromptError) {
		return ErrNoPrompt
	}
	if s.st.ended {
		return ErrEnded
	}
	edited, st := s.edited, s.current()
	s.pending = nil
	if err := s.enter(st); err != nil {
		return err
	}
	s.edited = edited
	if s.current().Kind != KindFix {
		s.approved = true
	}
	return nil
}

// Retry is Rerun for a transport failure.
func (s *Session) Retry() error { return s.Rerun() }

// EditCommand replaces the command of the pending probe or fix. The edit is
// recorded; the text is used as typed (the operator is the author now).
func (s *Session) EditCommand(cmd string) error {
	if ok, err := s.sectionAction(true, func(l *Session) error { return l.EditCommand(cmd) }); ok {
		return err
	}
	p := s.pending
	if p == nil || (p.Kind != PromptRun && p.Kind != PromptConfirm && p.Kind != PromptDecided && p.Kind != PromptError) || s.current().Command() == nil {
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
	if ok, err := s.sectionAction(false, func(l *Session) error { return l.Answer(choice, by) }); ok {
		return err
	}
	if ok, err := s.rolloutAnswer(choice, by); ok {
		return err
	}
	p := s.pending
	if p == nil || (p.Kind != PromptAsk && p.Kind != PromptManual) {
		return ErrNoPrompt
	}
	st := s.current()
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
	s.emit(Event{Type: EvAnswer, Step: st.ID, Answer: c.Answer, By: by})
	s.route(st, &Decision{Next: c.Goto, Expr: "choice " + c.Answer, By: by, Explain: fmt.Sprintf("answered %q → %s", c.Answer, s.label(c.Goto))})
	return nil
}

// Done confirms a PromptManual without choices.
func (s *Session) Done(by string) error {
	if ok, err := s.sectionAction(false, func(l *Session) error { return l.Done(by) }); ok {
		return err
	}
	p := s.pending
	if p == nil || p.Kind != PromptManual {
		return ErrNoPrompt
	}
	if len(s.current().Choices) > 0 {
		return fmt.Errorf("step %s asks for an answer: %s", s.current().ID, strings.Join(choiceNames(s.current()), ", "))
	}
	if by == "" {
		by = "operator"
	}
	st := s.current()
	s.emit(Event{Type: EvManualDone, Step: st.ID, By: by})
	if st.Next == "" {
		return s.fail(st, fmt.Errorf("step %s: manual step has no next", st.ID))
	}
	s.route(st, &Decision{Next: st.Next, Expr: "next", By: by, Explain: "done → " + s.label(st.Next)})
	return nil
}

// Decline refuses a pending fix. The session stays at the step: the driver
// may go back, override the route, or end the session.
func (s *Session) Decline(reason, by string) error {
	if ok, err := s.sectionAction(true, func(l *Session) error { return l.Decline(reason, by) }); ok {
		return err
	}
	p := s.pending
	if p == nil || p.Kind != PromptConfirm {
		return ErrNoPrompt
	}
	s.emit(Event{Type: EvDecline, Step: s.current().ID, Reason: reason, By: by})
	return nil
}

// Override replaces the route out of the current step with another of its
// declared routes (or any step), recording the operator's reason.
func (s *Session) Override(to, reason string) error {
	if err := s.sectionOverride(to); err != nil {
		return err
	}
	if ok, err := s.sectionAction(false, func(l *Session) error { return l.Override(to, reason) }); ok {
		return err
	}
	if s.st.ended {
		return ErrEnded
	}
	if strings.TrimSpace(reason) == "" {
		return errors.New("an override needs a reason")
	}
	target := s.rb.Step(to)
	if target == nil {
		return fmt.Errorf("no step %q", to)
	}
	st := s.current()
	if s.st.visit == nil || s.st.visit.Step != st.ID {
		return ErrNoPrompt
	}
	from := ""
	if s.st.visit.Decision != nil {
		from = s.st.visit.Decision.Next
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
	if ok, err := s.sectionBack(to); ok {
		return err
	}
	if s.st.ended {
		return ErrEnded
	}
	target := s.rb.Step(to)
	if target == nil {
		return fmt.Errorf("no step %q", to)
	}
	onPath := false
	for _, v := range s.st.history {
		if v.Step == target.ID {
			onPath = true
		}
	}
	if !onPath {
		return fmt.Errorf("step %s is not on the path taken", target.ID)
	}
	s.emit(Event{Type: EvBack, Step: target.ID, Text: s.current().ID})
	return nil
}

// PathSteps lists the distinct steps visited, in first-visit order (for `b`).
func (s *Session) PathSteps() []string {
	seen := map[string]bool{}
	var out []string
	history := s.st.history
	if sec := s.fleet.sec; sec != nil && len(sec.group) > 0 {
		history = append(append([]*Visit{}, history...), sec.group[0].s.st.history...)
	}
	for _, v := range history {
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
	if s.st.visit == nil {
		s.Start()
		if err := s.enter(s.current()); err != nil {
			return err
		}
	}
	s.emit(Event{Type: EvNote, Step: s.st.visit.Step, Text: text})
	return nil
}

// Notes returns every note by step, in order.
func (s *Session) Notes() []Event {
	var out []Event
	for _, v := range s.st.history {
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
	if s.fleet.sec != nil {
		return s.sectionAuto(st)
	}
	if s.rolloutHalted() {
		return "", false, nil // a human decides whether a failing rollout goes on
	}
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
