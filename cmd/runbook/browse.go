package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/catalog"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// loadRunbook resolves a file path or id and checks it (engine.Check: every
// structural and graph error at once). Errors stop here with exit 2;
// warnings are left for `runbook lint`.
func loadRunbook(arg string) (*engine.Runbook, error) {
	e, err := catalog.Resolve(arg)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	rb, ds := engine.Check(e.Path, e.Data())
	if ds.HasErrors() || rb == nil {
		return nil, &exitError{Code: 2, Err: fmt.Errorf("invalid runbook:\n%w", ds.Errors())}
	}
	return rb, nil
}

func completeRunbooks(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, _ := catalog.List()
	var out []string
	for _, e := range entries {
		out = append(out, e.ID+"\t"+e.Title)
	}
	return out, cobra.ShellCompDirectiveDefault
}

func newGraphCmd() *cobra.Command {
	var format, mark string
	cmd := &cobra.Command{
		Use:               "graph RUNBOOK",
		Short:             "Draw a runbook's decision tree (text, mermaid, dot)",
		Example:           "  runbook graph mrs-alm-45641\n  runbook graph my.yaml --format mermaid > tree.mmd\n  runbook graph my.yaml --format dot | dot -Tsvg > tree.svg",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunbooks,
		RunE: func(cmd *cobra.Command, args []string) error {
			rb, err := loadRunbook(args[0])
			if err != nil {
				return err
			}
			// Every label is runbook text: the whole drawing passes the
			// sanitiser (newlines kept, escapes made inert).
			out := cmd.OutOrStdout()
			switch format {
			case "text":
				fmt.Fprint(out, untrusted.Sanitize(engine.GraphText(rb, mark)))
			case "mermaid":
				fmt.Fprint(out, untrusted.Sanitize(engine.GraphMermaid(rb)))
			case "dot":
				fmt.Fprint(out, untrusted.Sanitize(engine.GraphDot(rb)))
			default:
				return usageErr("graph: --format must be text, mermaid or dot")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text, mermaid or dot")
	cmd.Flags().StringVar(&mark, "mark", "", "step to mark as the current position (text)")
	return cmd
}

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List runbooks: ./runbooks, your runbook directory, and shipped",
		Long:  "List runbooks by id. Ids in ./runbooks hide your own (" + catalog.UserDir() + "), which hide shipped ones.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, errs := catalog.List()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTITLE\tFROM")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", untrusted.SanitizeLine(e.ID), untrusted.SanitizeLine(e.Title), untrusted.SanitizeLine(e.Origin))
			}
			tw.Flush()
			for _, err := range errs {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", untrusted.Sanitize(err.Error()))
			}
			return nil
		},
	}
}

func newShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show RUNBOOK",
		Short:             "Describe a runbook: source, targets, params and steps",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunbooks,
		RunE: func(cmd *cobra.Command, args []string) error {
			rb, err := loadRunbook(args[0])
			if err != nil {
				return err
			}
			// Runbook text is untrusted (a file from a shared repository):
			// one-line fields pass SanitizeLine, the description Sanitize.
			out := cmd.OutOrStdout()
			l := untrusted.SanitizeLine
			fmt.Fprintf(out, "%s: %s\n", l(rb.ID), l(rb.Title))
			if rb.Source != "" {
				fmt.Fprintf(out, "source: %s\n", l(rb.Source))
			}
			if d := strings.TrimSpace(rb.Description); d != "" {
				fmt.Fprintf(out, "\n%s\n", untrusted.Sanitize(d))
			}
			if len(rb.Targets) > 0 {
				fmt.Fprintln(out, "\ntargets (--target ROLE=HOST):")
				for _, t := range rb.Targets {
					g := ""
					if t.Group {
						g = " (group: repeat --target)"
					}
					fmt.Fprintf(out, "  %-12s %s%s\n", l(t.Name), l(t.Description), g)
				}
			}
			if len(rb.Params) > 0 {
				fmt.Fprintln(out, "\nparams (--param NAME=VALUE):")
				for _, p := range rb.Params {
					def := ""
					if p.HasDefault {
						def = " [default " + l(p.Default) + "]"
					}
					fmt.Fprintf(out, "  %-12s %s: %s%s\n", l(p.Name), l(p.Describe()), l(p.Description), def)
				}
			}
			fmt.Fprintln(out, "\nsteps:")
			for _, st := range rb.Steps {
				ref := st.Ref
				if ref == "" {
					ref = "-"
				}
				fmt.Fprintf(out, "  %-5s %-26s %-8s %s\n", l(ref), l(st.ID), st.Kind, l(st.Title))
			}
			return nil
		},
	}
}
