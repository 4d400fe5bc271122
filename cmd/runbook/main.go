// Command runbook walks on-call engineers (and scripts) through troubleshooting
// runbooks: YAML decision trees whose probes run over SSH.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/run"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError is the error that carries a process exit code (see run.Code).
type exitError = run.ExitError

func usageErr(format string, args ...any) error { return run.Usage(format, args...) }

func main() {
	if os.Getenv("GOGC") == "" {
		// A run's heap is mostly short-lived handshake garbage: collecting
		// at 3x the live heap instead of 2x costs a few MiB and saves ~3 %
		// of the wall time of a 100-host probe (docs/benchmarks.md).
		debug.SetGCPercent(200)
	}
	os.Exit(mainRun(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// mainRun is main without os.Exit, for tests.
func mainRun(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "runbook:", untrusted.Sanitize(ee.Err.Error()))
		}
		return ee.Code
	}
	// Errors can quote a runbook file or a server (banners, SFTP names).
	fmt.Fprintln(stderr, "runbook:", untrusted.Sanitize(err.Error()))
	return 2 // cobra's own errors are usage errors
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "runbook",
		Short: "Walk troubleshooting runbooks over SSH, interactively or unattended",
		Long: `runbook loads YAML runbooks that encode vendor troubleshooting procedures
("run this check; if yes go to step 6, if no go to step 4"), runs each step's
probe on the right host over SSH, picks the next step from what the probe
printed or asks you where only a human can judge, walks you through fixes with
explicit confirmation, collects logs, and exports one bundle for escalation.

Try it with no setup against simulated hosts:
  runbook demo

Exit codes (run --auto):
  0 resolved · 1 runtime failure · 2 usage or invalid runbook
  3 escalated · 4 needs a human · 5 aborted · 130 interrupted`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newLintCmd(),
		newGraphCmd(),
		newListCmd(),
		newShowCmd(),
		newRunCmd(),
		newVersionCmd(),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra())
	}
	return root
}

// extraCommands lets feature files register subcommands without touching
// newRootCmd (demo, bundle, sessions, resume).
var extraCommands []func() *cobra.Command

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "runbook", versionString())
			return nil
		},
	}
}
