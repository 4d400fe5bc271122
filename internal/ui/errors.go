package ui

import (
	"errors"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
)

// errorActions is what the operator may do at a PromptError. It depends on
// the kind of error (errors.As and the engine's kind helpers, never the
// text): a probe that did not answer can be retried, edited or overridden;
// a changed host key cannot be retried; a timeout can be retried or
// skipped; an authentication failure is re-authenticated.
type errorActions struct {
	retry, reauth, skip, edit bool
	some                      bool   // several hosts: f retries only the failed ones
	skipTo                    string // the step a skip goes to
	why                       string // one line: what kind of failure this is
}

func actionsFor(p *engine.Prompt) errorActions {
	var a errorActions
	hasCmd := p.Step != nil && p.Step.Command() != nil
	var ee *engine.ExprError
	var pe *engine.ProbeError
	var te *engine.TransportError
	switch {
	case errors.As(p.Err, &ee):
		a.retry, a.edit = true, hasCmd
		a.why = "the expression could not be evaluated: this is not an answer"
	case errors.As(p.Err, &pe):
		a.retry, a.edit = true, hasCmd
		a.why = "the probe did not run properly: its result is not an answer"
	case errors.As(p.Err, &te):
		switch {
		case !engine.CanRetry(p.Err):
			a.why = "retrying cannot help (the host's identity is in question): fix known_hosts after checking with the host's owner"
		case engine.IsAuthFailure(p.Err):
			a.reauth = true
			a.why = "the host refused the credentials: load the key (ssh-add) or fix -i, then re-authenticate"
		case engine.IsTimeout(p.Err):
			a.retry, a.skip = true, true
			a.why = "the host did not answer in time"
		default:
			a.retry = true
			a.why = "the connection failed"
		}
	default: // a runbook problem found while running (a template value, a route)
		a.retry = true
	}
	a.some = len(p.Hosts) > 1
	if a.skip && p.Step != nil {
		a.skipTo = p.Step.Else
		if a.skipTo == "" {
			a.skipTo = p.Step.Next
		}
		a.skip = a.skipTo != ""
	}
	return a
}

// hint lists the keys that work here, in words.
func (a errorActions) hint() string {
	var parts []string
	if a.retry {
		parts = append(parts, "r retries")
	}
	if a.retry && a.some {
		parts = append(parts, "f retries only the hosts that failed")
	}
	if a.reauth {
		parts = append(parts, "a re-authenticates")
	}
	if a.edit {
		parts = append(parts, "e edits the command")
	}
	if a.skip {
		parts = append(parts, "s skips it")
	}
	parts = append(parts, "o picks another route (with a reason)", "b goes back", "q quits")
	return strings.Join(parts, " · ")
}
