package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

func init() { extraCommands = append(extraCommands, newBundleCmd) }

func newBundleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Check and summarise log bundles",
	}
	cmd.AddCommand(newBundleVerifyCmd(), newBundleInspectCmd())
	return cmd
}

func newBundleVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify PATH",
		Short: "Verify a bundle: detached digest, every member's sha256, the transcript's hash chain",
		Long: `Verify a bundle written by runbook: the detached PATH.sha256, the manifest's
own digest, every member's sha256 and size against the manifest (no member
missing or unlisted), and the hash chain of transcript.jsonl.

Exit status: 0 valid (an incomplete bundle is valid and says so), 1 invalid,
naming the first bad member.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := bundle.Verify(args[0])
			if err != nil {
				var ve *bundle.VerifyError
				if errors.As(err, &ve) {
					return &exitError{Code: 1, Err: fmt.Errorf("bundle invalid: %s: %s", untrusted.SanitizeLine(ve.Member), untrusted.SanitizeLine(ve.Reason))}
				}
				return &exitError{Code: 1, Err: err}
			}
			members := 0
			for _, e := range m.Entries {
				if e.Member != "" {
					members++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s, %d members verified, bundle %s\n", untrusted.SanitizeLine(args[0]), members, m.Status)
			return nil
		},
	}
}

func newBundleInspectCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Summarise a bundle: runbook, outcome, targets, what was collected and what failed",
		Long: `Print a bundle's summary from its manifest. It does not verify the bundle
(use ` + "`runbook bundle verify`" + `); everything printed is sanitised, since names and
errors come from remote hosts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := bundle.ReadManifest(args[0])
			if err != nil {
				return &exitError{Code: 1, Err: err}
			}
			printManifest(cmd.OutOrStdout(), m, all)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every item, not only the ones that failed or were cut")
	return cmd
}

func printManifest(out io.Writer, m *bundle.Manifest, all bool) {
	s := untrusted.SanitizeLine
	fmt.Fprintf(out, "runbook   %s: %s\n", s(m.Runbook.ID), s(m.Runbook.Title))
	fmt.Fprintf(out, "sha256    %s\n", s(m.Runbook.SHA256))
	fmt.Fprintf(out, "tool      runbook %s\n", s(m.ToolVersion))
	fmt.Fprintf(out, "time      %s → %s (%s)\n", m.Started.Format("2006-01-02 15:04:05Z"), m.Ended.Format("15:04:05Z"), m.Ended.Sub(m.Started).Round(1e9))
	outcome := m.Outcome
	if outcome == "" {
		outcome = "(none)"
	}
	fmt.Fprintf(out, "outcome   %s", s(outcome))
	if m.Message != "" {
		fmt.Fprintf(out, ": %s", s(m.Message))
	}
	fmt.Fprintf(out, "\nbundle    %s", m.Status)
	if len(m.Incomplete) > 0 {
		fmt.Fprintf(out, " (%s)", s(strings.Join(m.Incomplete, "; ")))
	}
	if len(m.Partial) > 0 {
		fmt.Fprintf(out, "\n          not collected: %s", s(strings.Join(m.Partial, "; ")))
	}
	if m.Redacted != bundle.RedactedAll {
		fmt.Fprintf(out, ", %s", m.Redacted)
	}
	if m.Pseudonymised {
		fmt.Fprintf(out, "\n          pseudonymised: addresses and host names are stand-ins")
	}
	fmt.Fprintln(out)
	for _, t := range m.Targets {
		fmt.Fprintf(out, "target    %s = %s", s(t.Role), s(t.Name))
		if t.HostKey != "" {
			fmt.Fprintf(out, " (%s)", s(t.HostKey))
		}
		if t.ClockSkew != nil {
			fmt.Fprintf(out, " clock skew %+.0fs", *t.ClockSkew)
		}
		fmt.Fprintln(out)
	}
	counts := map[string]int{}
	var stored int64
	for _, e := range m.Entries {
		counts[e.Kind+" "+e.Status]++
		stored += e.BytesAfter
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	fmt.Fprintf(out, "items     %s; %s stored\n", strings.Join(parts, ", "), engine.FormatSize(stored))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	header := false
	for _, e := range m.Entries {
		if !all && (e.Status == bundle.StatusOK && (e.Redaction == "" || e.Redaction == "applied" || e.Redaction == "disabled")) {
			continue
		}
		if !header {
			fmt.Fprintln(tw, "\nSTATUS\tKIND\tHOST\tITEM\tDETAIL")
			header = true
		}
		item := e.Path
		if e.Kind == bundle.KindCommand {
			item = e.Command
		}
		if item == "" {
			item = e.Member
		}
		detail := e.Error
		if e.Status == bundle.StatusTruncated {
			detail = fmt.Sprintf("kept %s of %s", engine.FormatSize(e.BytesAfter), engine.FormatSize(e.BytesBefore))
		}
		if e.Redaction != "" && e.Redaction != "applied" && e.Redaction != "disabled" {
			detail = strings.TrimPrefix(detail+"; "+e.Redaction, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Status, e.Kind, s(e.Host), s(item), s(detail))
	}
	tw.Flush()
}
