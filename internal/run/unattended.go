package run

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// unattended drives the session with internal/auto: progress on stderr,
// the result on stdout (text, json, or jsonl after the events).
func (l *lifecycle) unattended(ctx context.Context) error {
	o := l.o
	progress := auto.NewProgress(o.Stderr, o.Runbook)
	progress.Seed(l.sopts.Resume) // a resumed session's lines know its earlier visits
	sinks := append(l.sinks(), progress.Event)
	// JSON output post-escapes C1 and bidi runes (untrusted.JSONEncoder).
	var jsonl *untrusted.JSONEncoder
	if o.Output == "jsonl" {
		jsonl = untrusted.NewJSONEncoder(o.Stdout)
		jsonl.SetEscapeHTML(false)
		sinks = append(sinks, func(e engine.Event) { _ = jsonl.Encode(e) })
	}
	sopts := l.sopts
	sopts.OnEvent, sopts.Settle = fanout(sinks), l.settle()
	if l.jw != nil {
		fmt.Fprintf(o.Stderr, "session %s\n", l.id)
	}
	s, err := engine.NewSession(o.Runbook, sopts)
	if err != nil {
		l.failure = err
		return Usage("%v", err)
	}
	l.session = s
	if l.bundle != nil {
		l.bundle.secrets(s)
	}
	l.preSteps(ctx)
	res := auto.Run(ctx, s, o.Policy)
	res.DryRun, res.Resumed = l.sopts.DryRun, l.resumed
	if l.jw != nil {
		res.Session, res.Journal = l.id, l.jw.Path()
	}
	l.result = res
	l.finish(ctx) // the result names the bundle and any journal error
	switch o.Output {
	case "json":
		enc := untrusted.NewJSONEncoder(o.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return &ExitError{Code: auto.ExitFailure, Err: fmt.Errorf("write result: %w", err)}
		}
		printStop(o.Stderr, res)
	case "jsonl":
		if err := jsonl.Encode(struct {
			Type string `json:"type"`
			*auto.Result
		}{"result", res}); err != nil {
			return &ExitError{Code: auto.ExitFailure, Err: fmt.Errorf("write result: %w", err)}
		}
		printStop(o.Stderr, res)
	default:
		printResult(o.Stdout, res)
	}
	if res.ExitCode != 0 {
		return &ExitError{Code: res.ExitCode}
	}
	return nil
}

// printStop tells people on stderr why a machine-readable run stopped.
func printStop(w io.Writer, res *auto.Result) {
	if res.Stopped != nil {
		fmt.Fprintf(w, "needs a human at %s: %s\n", untrusted.SanitizeLine(res.Stopped.Step), untrusted.SanitizeLine(res.Stopped.Reason))
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", untrusted.SanitizeLine(e))
	}
}

func printResult(w io.Writer, res *auto.Result) {
	clean := untrusted.SanitizeLine
	title := res.Runbook
	if res.DryRun {
		title += " (dry run: fixes and collects simulated)"
	}
	fmt.Fprintf(w, "%s: %s\n", clean(title), res.Outcome)
	if res.Message != "" {
		fmt.Fprintln(w, untrusted.Sanitize(res.Message))
	}
	fmt.Fprintln(w, "path taken:")
	for i, p := range res.Path {
		ref := p.Ref
		if ref == "" {
			ref = "-"
		}
		line := fmt.Sprintf("  %2d. %-4s %s", i+1, clean(ref), clean(p.Step))
		if p.Simulated {
			line += "  [simulated]"
		}
		if p.Interrupted {
			line += "  [interrupted]"
		}
		if p.Decision != nil && p.Decision.Explain != "" {
			line += "  (" + clean(p.Decision.Explain) + ")"
		}
		fmt.Fprintln(w, line)
	}
	for _, d := range res.Divergence {
		state := ""
		if d.Open {
			state = " (still apart: the run stopped inside)"
		}
		fmt.Fprintf(w, "per-host paths from %s to %s%s: %s\n", clean(d.Step), clean(d.Join), state, clean(d.Line))
		for _, g := range d.Groups {
			fmt.Fprintf(w, "  %d × %s: %s\n", len(g.Hosts), clean(engine.PathText(g.Steps)), clean(strings.Join(g.Hosts, ", ")))
		}
	}
	if res.Stopped != nil {
		// A question over several hosts of a per-host section is one
		// paragraph per host: each line is printed (indented) on its own.
		q := strings.Split(res.Stopped.Question, "\n")
		for i := range q {
			if q[i] = clean(q[i]); i > 0 && q[i] != "" {
				q[i] = "  " + q[i]
			}
		}
		fmt.Fprintf(w, "needs a human at %s: %s\n  %s\n", clean(res.Stopped.Step), strings.Join(q, "\n"), clean(res.Stopped.Reason))
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", clean(e))
	}
	if res.Session != "" && res.Outcome != auto.Resolved && res.Outcome != auto.Escalated && res.Outcome != auto.Aborted {
		fmt.Fprintf(w, "resume with: runbook resume %s\n", res.Session)
	}
}
