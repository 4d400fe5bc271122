package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/run"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

func init() {
	extraCommands = append(extraCommands, newSessionsCmd, newResumeCmd)
}

func newSessionsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List journaled sessions (to resume one)",
		Long: `List the sessions journaled in $XDG_STATE_HOME/runbook/sessions, oldest
first: id, runbook, start time, last step entered and state.

States: running (a live runbook process holds it), ended OUTCOME (reached an
end step), stopped OUTCOME (an unattended run stopped: needs-human, failed,
interrupted), interrupted (the process died: crash, kill -9, lost laptop).
Continue any that has not ended with runbook resume ID; open any read-only
with runbook sessions show ID (nothing runs).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sums, errs := journal.List(journal.Dir())
			for _, err := range errs {
				fmt.Fprintln(cmd.ErrOrStderr(), "runbook: warning:", err)
			}
			switch output {
			case "json":
				enc := untrusted.NewJSONEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if sums == nil {
					sums = []journal.Summary{}
				}
				return enc.Encode(sums)
			case "text":
			default:
				return usageErr("--output must be text or json")
			}
			if len(sums) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no sessions in", journal.Dir())
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRUNBOOK\tSTARTED\tLAST STEP\tSTATE")
			for _, s := range sums {
				state := s.State
				if s.Outcome != "" {
					state += " " + s.Outcome
				}
				if s.DryRun {
					state += " (dry run)"
				}
				if s.Demo != "" {
					state += " (demo: " + s.Demo + ", simulated hosts)"
				}
				clean := untrusted.SanitizeLine
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(s.ID), clean(s.Runbook),
					s.Started.Local().Format(time.DateTime), clean(s.LastStep), state)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.AddCommand(newSessionsShowCmd())
	return cmd
}

func newResumeCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "resume ID",
		Short: "Continue a journaled session where it stopped",
		Long: `Continue a session from its journal (see runbook sessions; a unique prefix
of the id is enough). Position, history, answers, captures, params and
targets come back; the runbook is the one that ran, as stored in the journal.

Nothing that completed runs again: a fix whose result is journaled is done.
A step that was cut off (the process died mid-step) is offered again and
marked interrupted; a fix that was confirmed but has no result may have run
in part, so it needs confirming again (in --auto: --allow-fix again).

--only-failed: the step the session stopped at (a group step where some
hosts failed: connection, timeout, a command that could not run, a fix
that exited non-zero) runs again for only those hosts; the others keep
their journaled results, and the route is decided over all of them.

Secret params are never journaled: pass them again with --param.
Flags are those of runbook run; --target overrides a journaled binding.

` + exitCodesHelp,
		Example: `  runbook sessions
  runbook resume 20261128T043000Z-mrs-alm-45641-3f2a
  runbook resume 20261128T0430 --auto --allow-fix --output json
  runbook resume 20261128T0430 --auto --only-failed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stdin, o.stdout, o.stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runResume(cmd.Context(), o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.onlyFailed, "only-failed", false, "rerun the step it stopped at for only the hosts that failed it")
	addDriverFlags(f, o)
	addSSHFlags(f, &o.ssh)
	addUIFlags(f, &o.ui)
	addBundleFlags(f, &o.bundle)
	return cmd
}

func runResume(ctx context.Context, o *runOptions, id string) error {
	if err := checkOutput(o); err != nil {
		return err
	}
	j, err := readJournaled(id)
	if err != nil {
		return err
	}
	path, h, evs, rb := j.path, j.h, j.evs, j.rb
	o.runbook, o.dryRun, o.startAt = h.Runbook, h.DryRun, h.StartAt
	ro, err := o.build(rb)
	if err != nil {
		return err
	}
	targets, params := j.targets(), j.params()
	for role, hs := range ro.Targets { // --target overrides a journaled binding
		targets[role] = hs
	}
	given, err := parseKV(o.params, "--param")
	if err != nil {
		return err
	}
	for k, v := range given {
		params[k] = v
	}
	captures, err := parseStepKV(flatList(h.Captures), "journaled capture")
	if err != nil {
		return err
	}
	ro.Targets, ro.Params, ro.Captures = targets, params, captures
	ro.DryRun, ro.StartAt = h.DryRun, h.StartAt
	ro.Journal.Resume = &run.Resume{Path: path, Header: h, Events: evs, OnlyFailed: o.onlyFailed}
	if h.Demo != nil {
		// A demo session resumes against the same simulated hosts, never
		// against whatever the scenario's host names resolve to.
		if len(o.targets) > 0 {
			return usageErr("session %s is a demo (scenario %s): its hosts are simulated, so --target cannot rebind them", h.ID, h.Demo.Scenario)
		}
		fleet, sc, err := demoFleet(h.Runbook, h.Demo.Scenario, h.Demo.File)
		if err != nil {
			return err
		}
		defer fleet.Close()
		// A simulated session's secret params are the scenario's (the
		// journal never holds a secret), under any given on the command line.
		for k, v := range sc.Params {
			if _, ok := ro.Params[k]; !ok {
				ro.Params[k] = v
			}
		}
		// The scenario's declared answers, under any given on the command line.
		pol, err := demoPolicy(rb, sc)
		if err != nil {
			return usageErr("%v", err)
		}
		for k, v := range ro.Policy.Answers {
			pol.Answers[k] = v
		}
		for step, m := range ro.Policy.Inputs {
			pol.Inputs[step] = m
		}
		for k := range ro.Policy.AssumeDone {
			pol.AssumeDone[k] = true
		}
		pol.AllowFix = pol.AllowFix || ro.Policy.AllowFix
		pol.AllowDestructive = pol.AllowDestructive || ro.Policy.AllowDestructive
		pol.DryRun = ro.Policy.DryRun
		ro.Policy = pol
		speed := h.Demo.Speed
		if speed < 1 {
			speed = 300
		}
		ro.Remote, ro.Clock = fleet.Executor(), newScaledClock(speed)
		ro.UI.Banner = demoBanner(h.Demo.Scenario)
	}
	return run.Run(ctx, ro)
}

func flatList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// journaled is a session's journal with the runbook it ran, loaded from the
// journal's own copy of its source and of every file it called.
type journaled struct {
	path string
	h    journal.Header
	evs  []engine.Event
	rb   *engine.Runbook
}

// readJournaled reads session id (a prefix will do) for resume, sessions
// show and scenario record alike.
func readJournaled(id string) (*journaled, error) {
	path, err := journal.Resolve(journal.Dir(), id)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	h, evs, err := journal.Read(path)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	rb, err := engine.LoadWith(h.File, []byte(h.Source), h.ReadInclude)
	if err != nil {
		return nil, usageErr("session %s: journaled runbook: %v", h.ID, err)
	}
	return &journaled{path: path, h: h, evs: evs, rb: rb}, nil
}

// targets are the journaled bindings.
func (j *journaled) targets() map[string][]engine.Host {
	targets := map[string][]engine.Host{}
	for role, names := range j.h.Targets {
		for _, n := range names {
			targets[role] = append(targets[role], engine.Host{Role: role, Name: n, Addr: j.h.Addrs[n]})
		}
	}
	return targets
}

// params are the header's values plus those the TUI asked for, which only
// session.start holds (secrets are masked there and never taken from it).
func (j *journaled) params() map[string]string {
	params := map[string]string{}
	for k, v := range j.h.Params {
		params[k] = v
	}
	for _, e := range j.evs {
		if e.Type != engine.EvSessionStart {
			continue
		}
		for k, v := range e.Params {
			if p := j.rb.Param(k); p != nil && !p.Secret && params[k] == "" {
				params[k] = v
			}
		}
		break
	}
	return params
}
