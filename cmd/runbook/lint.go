package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

type lintOptions struct {
	paths  []string
	format string
	strict bool
}

func newLintCmd() *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint PATH...",
		Short: "Check runbooks for errors (file:line:col)",
		Long: `Check runbook files, or every *.yaml file in a directory, and report every
problem at once as FILE:LINE:COL: SEVERITY: MESSAGE (HINT).

Checks: YAML syntax, unknown keys (typos), wrong types, duplicate ids, routes
to missing steps, unreachable steps, steps from which no end can be reached,
asks without choices or without an --auto policy (warning), expressions and
command templates that do not compile or name unknown things, undeclared
targets and params, destructive fixes without a doc, captures that find
nothing in the probe's declared example output (run.example), called
runbooks (call: file) in their own files, with their params and roles.

Exit status: 0 clean (warnings allowed unless --strict), 2 problems found.`,
		Example: `  runbook lint runbooks/
  runbook lint --format json my-runbook.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			return runLint(cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "treat warnings as errors")
	return cmd
}

func expandPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, usageErr("lint: %v", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			files = append(files, m...)
		}
	}
	sort.Strings(files)
	return files, nil
}

// lintFile checks one file: structural and graph problems come back
// together (engine.Check), so one run names every problem.
func lintFile(path string) (*engine.Runbook, engine.Diagnostics) {
	return engine.CheckFile(path)
}

func runLint(cmd *cobra.Command, o *lintOptions) error {
	if o.format != "text" && o.format != "json" {
		return usageErr("lint: --format must be text or json")
	}
	files, err := expandPaths(o.paths)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErr("lint: no *.yaml files in %v", o.paths)
	}
	var all engine.Diagnostics
	for _, f := range files {
		_, ds := lintFile(f)
		all = append(all, ds...)
	}
	failed := all.HasErrors() || (o.strict && len(all) > 0)
	out := cmd.OutOrStdout()
	if o.format == "json" {
		if all == nil {
			all = engine.Diagnostics{}
		}
		enc := untrusted.NewJSONEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"files": files, "diagnostics": all, "ok": !failed}); err != nil {
			return err
		}
	} else {
		for _, d := range all {
			// A message quotes the file (a misspelt key, a bad value).
			fmt.Fprintln(out, untrusted.SanitizeLine(d.String()))
		}
		errs := len(all.Errors())
		if failed {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d file(s), %d error(s), %d warning(s)\n", len(files), errs, len(all)-errs)
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d file(s) ok", len(files))
			if len(all) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), ", %d warning(s)", len(all))
			}
			fmt.Fprintln(cmd.ErrOrStderr())
		}
	}
	if failed {
		return &exitError{Code: 2}
	}
	return nil
}
