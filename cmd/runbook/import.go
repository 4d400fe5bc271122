package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/importer"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

func init() { extraCommands = append(extraCommands, newImportCmd) }

func newImportCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Turn a vendor's numbered-steps procedure (text) into a runbook skeleton",
		Long: `Read a vendor procedure written as numbered steps ("3. Run ping ... If yes,
go to 6. If no, go to 4."; also 是/否 转到/执行 N, 예/아니요 N단계로 이동,
да/нет → перейти к N) and write a runbook skeleton: one step per vendor
number with its ref, commands as run probes or fixes (rm, kill, delete,
--discard-my-data ... marked destructive), the routes as branches or
choices, "wait N minutes" as waits, the rest as manual steps. Every guess is
marked with a # TODO comment; placeholders in commands ("ping IP address of
the standby", <res-id>) become params. The result is checked with lint.

The importer never runs what it finds. Read every command before you run
the runbook.

Exit status: 0 written and lint finds no errors; 1 written but lint finds
errors (a bug in the importer: please report it); 2 bad usage, an
unreadable file, or an output file that exists (without --force).`,
		Example: `  runbook import alm-45641.txt -o runbooks/alm-45641.yaml
  runbook import procedure.txt | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(args[0], out, force, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the runbook to this file instead of stdout")
	cmd.Flags().BoolVar(&force, "force", false, "replace the output file if it exists")
	return cmd
}

func runImport(in, out string, force bool, stdout, stderr io.Writer) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return usageErr("import: %v", err)
	}
	r, err := importer.Import(in, src)
	if err != nil {
		return usageErr("import: %v", err)
	}
	name := out
	if name == "" {
		name = "(stdout)"
		if _, err := stdout.Write(r.YAML); err != nil {
			return err
		}
	} else {
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if force {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(out, flags, 0o644)
		if err != nil {
			return usageErr("import: %v (use --force to replace it)", err)
		}
		if _, err := f.Write(r.YAML); err != nil {
			f.Close()
			return fmt.Errorf("import: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	_, ds := engine.Check(name, r.YAML)
	errs, warns := 0, 0
	for _, d := range ds {
		if d.Severity == engine.SevError {
			errs++
			fmt.Fprintln(stderr, untrusted.SanitizeLine(d.String()))
		} else {
			warns++
		}
	}
	routes := 0
	for _, s := range r.Steps {
		routes += len(s.Routes)
	}
	fmt.Fprintf(stderr, "imported %d steps, %d routes, %d TODOs to resolve; lint: %d errors, %d warnings\n", len(r.Steps), routes, r.TODOs, errs, warns)
	if errs > 0 {
		return &exitError{Code: 1}
	}
	return nil
}
