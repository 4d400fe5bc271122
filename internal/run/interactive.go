package run

import (
	"context"
	"fmt"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ui"
)

// interactive walks the runbook in the TUI. The pre-steps run inside it (as
// its first action), so a host-key or passphrase question they raise has a
// reader; Ctrl-C and the run's context reach every wait.
func (l *lifecycle) interactive(ctx context.Context) error {
	o := l.o
	cfg := ui.Config{
		Runbook:    o.Runbook,
		Options:    l.sopts,
		Requests:   l.requests,
		Scrollback: o.UI.Scrollback,
		Before:     l.preSteps,
		Banner:     o.UI.Banner,
	}
	cfg.Options.OnEvent, cfg.Options.Settle = fanout(l.sinks()), l.settle()
	if l.bundle != nil {
		cfg.ExportBundle = l.bundle.export
	} else {
		cfg.BundleNote = "none (run with --bundle DIR to write one)"
	}
	res, err := ui.Run(ctx, cfg, o.UI.ProgramOptions...)
	l.session = res.Session
	switch {
	case ctx.Err() != nil || res.Interrupted:
		l.interrupted = true
	case err != nil:
		l.failure = err
	case res.Err != nil:
		l.failure = fmt.Errorf("session stopped: %w", res.Err)
	}
	l.finish(ctx)
	if l.bundle != nil && l.bundle.path != "" {
		fmt.Fprintf(o.Stdout, "bundle: %s\n", l.bundle.path)
		if m := l.bundle.w.PseudonymMap(); m != "" {
			fmt.Fprintf(o.Stdout, "pseudonym map: %s (private: keep it, do not send it with the bundle)\n", m)
		}
	}
	if res.BundleErr != nil {
		fmt.Fprintf(o.Stderr, "runbook: bundle: %v\n", res.BundleErr)
	}
	if l.interrupted {
		fmt.Fprintf(o.Stdout, "%s: interrupted\n", o.Runbook.ID)
		if l.jw != nil {
			fmt.Fprintf(o.Stdout, "resume with: runbook resume %s\n", l.id)
		}
		return &ExitError{Code: auto.ExitInterrupted}
	}
	if l.failure != nil {
		return &ExitError{Code: auto.ExitFailure, Err: l.failure}
	}
	fmt.Fprintf(o.Stdout, "%s: %s\n", o.Runbook.ID, outcomeText(res.Outcome))
	switch res.Outcome {
	case engine.OutcomeResolved:
		return nil
	case engine.OutcomeEscalated:
		return &ExitError{Code: auto.ExitEscalated} // the summary above says it
	}
	return &ExitError{Code: auto.ExitAborted}
}

func outcomeText(o engine.Outcome) string {
	if o == "" {
		return string(engine.OutcomeAborted)
	}
	return string(o)
}
