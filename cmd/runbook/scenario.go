package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

func init() { extraCommands = append(extraCommands, newScenarioCmd) }

func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Work with scenarios (simulated hosts)",
	}
	var out, name, rbFile string
	var force bool
	rec := &cobra.Command{
		Use:   "record SESSION-ID|BUNDLE",
		Short: "Turn a real session (its journal or bundle) into a scenario",
		Long: `Turn a session into a scenario: what each host printed for each command
becomes that simulated host's answer, in the order it ran; the session's
answers, confirmed fixes and manual steps become the scenario's policy, and
its outcome and path its expect (when it ended). A bundle also gives the
collected files and collect commands' outputs.

Outputs, commands and params are as the journal or bundle holds them:
secrets stay masked (a secret param's value is ` + scenario.Masked + `).

Replay it offline with runbook demo RUNBOOK-FILE --scenario NAME (write it
to scenarios/RUNBOOK-ID/NAME.yaml beside the runbook file) or runbook test;
change an answer to walk another branch.

Exit status: 0 written; 2 an unknown session, an unreadable or tampered
bundle, or an output file that exists (without --force).`,
		Example: `  runbook scenario record 20261128T030000Z-mrs-alm-45641-3ec1 -o runbooks/scenarios/mrs-alm-45641/recorded.yaml
  runbook scenario record bundles/runbook-mrs-alm-45641-20261128T031200Z.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRecord(args[0], name, out, rbFile, force, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	rec.Flags().StringVarP(&out, "output", "o", "", "write the scenario to this file instead of stdout")
	rec.Flags().StringVar(&name, "name", "recorded", "the scenario's name (demo --scenario NAME)")
	rec.Flags().BoolVar(&force, "force", false, "replace the output file if it exists")
	rec.Flags().StringVar(&rbFile, "runbook", "", "for a bundle: the runbook file or id it ran (default: its id); its sha256 must match the bundle's")
	cmd.AddCommand(rec)
	return cmd
}

func runRecord(src, name, out, rbFile string, force bool, stdout, stderr io.Writer) error {
	var r scenario.Recording
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() && (strings.HasSuffix(src, ".tar.gz") || strings.HasSuffix(src, ".tgz")) {
		s, err := bundle.ReadSession(src)
		if err != nil {
			return usageErr("scenario record: %v", err)
		}
		r = scenario.Recording{From: "bundle " + src, Events: s.Events, Files: s.Files, Collected: s.Commands}
		var id, sum string
		for _, e := range s.Events {
			if e.Type == engine.EvSessionStart {
				id, sum, r.Targets, r.Started = e.Runbook, e.SHA256, e.Targets, e.Time
				r.Params = map[string]string{}
				for k, v := range e.Params {
					if v != scenario.Masked {
						r.Params[k] = v
					}
				}
				break
			}
		}
		if id == "" {
			return usageErr("scenario record: %s: the transcript has no session start", src)
		}
		if rbFile == "" {
			rbFile = id
		}
		if r.Runbook, err = loadRunbook(rbFile); err != nil {
			return usageErr("scenario record: the bundle ran runbook %s: %v (name its file with --runbook FILE)", id, err)
		}
		if r.Runbook.ID != id || (sum != "" && r.Runbook.SHA256 != sum) {
			return usageErr("scenario record: %s is not the runbook the bundle ran (%s, sha256 %.12s…)", rbFile, id, sum)
		}
	} else {
		j, err := readJournaled(src)
		if err != nil {
			return usageErr("scenario record: %v", err)
		}
		r = scenario.Recording{From: "session " + j.h.ID, Runbook: j.rb, Started: j.h.Started, Targets: j.h.Targets, Params: j.h.Params, Events: j.evs}
	}
	r.Name = name
	data, err := scenario.Record(r)
	if err != nil {
		return &exitError{Code: 1, Err: err}
	}
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if err != nil {
		return usageErr("scenario record: %v (use --force to replace it)", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("scenario record: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("scenario record: %w", err)
	}
	fmt.Fprintf(stderr, "scenario %q of %s written to %s\n", name, r.Runbook.ID, out)
	return nil
}
