package main

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/engine"
)

// uiOptions are the interactive flags of `runbook run`.
type uiOptions struct{}

func addUIFlags(f *pflag.FlagSet, o *uiOptions) {}

// runInteractive opens the TUI on a terminal.
func runInteractive(ctx context.Context, o *runOptions, rb *engine.Runbook, sopts engine.Options) error {
	return usageErr("%v", errors.New("the interactive TUI is not available yet: pass --auto"))
}
