package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/engine"
)

// sshOptions are the SSH transport flags of `runbook run`.
type sshOptions struct{}

func addSSHFlags(f *pflag.FlagSet, o *sshOptions) {}

// newRemote builds the executor for hosts other than `local`. Until the SSH
// transport lands there is none, and remote hosts fail with a clear error.
func newRemote(ctx context.Context, o *runOptions) (engine.Executor, func(), error) {
	return nil, func() {}, nil
}
