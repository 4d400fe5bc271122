package engine

// Fix steps: inputs, rendering the exact per-host command, confirmation.

import (
	"errors"
	"fmt"
	"strings"
)

// Confirm approves a pending fix, with values for its inputs. The fix runs on
// the next Advance.
func (s *Session) Confirm(inputs map[string]string, by string) error {
	if ok, err := s.sectionAction(false, func(l *Session) error { return l.Confirm(inputs, by) }); ok {
		return err
	}
	p := s.pending
	if p == nil || p.Kind != PromptConfirm {
		return ErrNoPrompt
	}
	st := s.current()
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
	if s.fleet.sec != nil {
		return s.sectionRender(inputs)
	}
	p := s.pending
	if p == nil || p.Kind != PromptConfirm {
		return nil, ErrNoPrompt
	}
	st := s.current()
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
