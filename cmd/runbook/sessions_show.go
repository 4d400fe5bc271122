package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/ui"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

func newSessionsShowCmd() *cobra.Command {
	var params []string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Open a journaled session read-only (replay): nothing runs",
		Long: `Open a finished or interrupted session from its journal, read-only. On a
terminal it opens in the TUI with the same screens as a live walk: the
outline, the path taken, the tree (g), any visit's command, output,
captures and decision (v), why each decision went where it did (x), the
command palette (:). Nothing runs and no host is contacted: the replay has
no transport at all. Otherwise it prints the session's summary.

A unique prefix of the id is enough (see runbook sessions). Secret params
are never journaled; a session whose runbook requires one without a default
needs --param NAME=VALUE to be rebuilt (the value is never used).`,
		Example: `  runbook sessions show 20261128T043000Z-mrs-alm-45641-3f2a
  runbook sessions show 20261128T0430 | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSessionsShow(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), args[0], params)
		},
	}
	cmd.Flags().StringArrayVar(&params, "param", nil, "NAME=VALUE for a secret param the runbook requires (never used: nothing runs)")
	return cmd
}

// noTransport is the replay's executor: nothing may run, so anything that
// reaches it is an error, never a connection.
type noTransport struct{}

var errReplay = errors.New("a replay runs nothing")

func (noTransport) Run(context.Context, engine.Host, engine.CommandRequest, io.Writer, io.Writer) (engine.CommandResult, error) {
	return engine.CommandResult{}, errReplay
}

func (noTransport) Fetch(context.Context, engine.Host, engine.FetchRequest, engine.Collector) error {
	return errReplay
}

func runSessionsShow(ctx context.Context, stdin io.Reader, stdout io.Writer, id string, given []string) error {
	j, err := readJournaled(id)
	if err != nil {
		return err
	}
	h, evs, rb := j.h, j.evs, j.rb
	targets, params := j.targets(), j.params()
	kv, err := parseKV(given, "--param")
	if err != nil {
		return err
	}
	for k, v := range kv {
		params[k] = v
	}
	s, err := engine.Restore(rb, engine.Options{Executor: noTransport{}, Targets: targets, Params: params,
		StepMode: true, DryRun: h.DryRun, StartAt: h.StartAt}, evs)
	var miss *engine.MissingParamsError
	switch {
	case errors.As(err, &miss):
		var names []string
		for _, p := range miss.Params {
			names = append(names, p.Name)
		}
		return usageErr("session %s: the runbook requires %s, which the journal does not keep (secret); pass --param %s=VALUE to replay it (the value is never used)", h.ID, strings.Join(names, ", "), names[0])
	case err != nil:
		return usageErr("session %s: %v", h.ID, err)
	}
	if !isTerminal(stdin, stdout) {
		printSession(stdout, h, s)
		return nil
	}
	banner := ""
	if h.Demo != nil {
		banner = demoBanner(h.Demo.Scenario)
	}
	return ui.RunReplay(ctx, ui.Config{Runbook: rb, Options: engine.Options{Targets: targets}, Banner: banner}, s, h.ID)
}

// printSession is the text summary of a journaled session.
func printSession(w io.Writer, h journal.Header, s *engine.Session) {
	clean := untrusted.SanitizeLine
	fmt.Fprintf(w, "session %s (replay: read-only, nothing runs)\n", clean(h.ID))
	title := clean(h.Runbook)
	if h.Title != "" {
		title += " — " + clean(h.Title)
	}
	fmt.Fprintf(w, "runbook  %s\n", title)
	fmt.Fprintf(w, "started  %s\n", h.Started.Local().Format(time.DateTime))
	var roles []string
	for role, names := range h.Targets {
		roles = append(roles, clean(role)+"="+clean(strings.Join(names, ",")))
	}
	sort.Strings(roles)
	fmt.Fprintf(w, "targets  %s\n", strings.Join(roles, " "))
	switch {
	case h.Demo != nil:
		fmt.Fprintf(w, "demo     scenario %s · simulated hosts\n", clean(h.Demo.Scenario))
	case h.DryRun:
		fmt.Fprintln(w, "dry run  fixes and collects were simulated")
	}
	ended, outcome, msg := s.Ended()
	if ended {
		fmt.Fprintf(w, "outcome  %s\n", outcome)
		if msg != "" {
			fmt.Fprintf(w, "         %s\n", clean(msg))
		}
	} else {
		fmt.Fprintf(w, "state    not ended: stopped at %s (runbook resume %s continues it)\n", clean(s.Current().Label()), clean(h.ID))
	}
	fmt.Fprintln(w, "path taken:")
	for i, v := range s.History() {
		ref, label := "-", v.Step
		if st := s.Runbook().Step(v.Step); st != nil {
			if st.Ref != "" {
				ref = st.Ref
			}
			label = st.ID
		}
		line := fmt.Sprintf("  %2d. %-4s %s", i+1, clean(ref), clean(label))
		if v.Interrupted {
			line += "  [interrupted]"
		}
		if v.Simulated {
			line += "  [simulated]"
		}
		if d := v.Decision; d != nil && d.Explain != "" {
			line += "  (" + clean(d.Explain)
			if d.By != "" && d.By != "auto" {
				line += "; by " + clean(d.By)
			}
			line += ")"
		}
		if v.Error != "" {
			line += "  error: " + clean(v.Error)
		}
		fmt.Fprintln(w, line)
		for _, n := range v.Notes {
			fmt.Fprintf(w, "        note: %s\n", clean(n))
		}
	}
}
