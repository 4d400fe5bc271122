package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ui"
)

// uiOptions are the interactive parts of `runbook run`.
type uiOptions struct {
	scrollback int
	// reqs carries the SSH transport's questions into the TUI; created on
	// first use because the transport is built before the TUI starts.
	reqs *ui.Requests
	// export finalises the session's bundle (set by drive from run_bundle.go).
	export func(ctx context.Context, s *engine.Session) (string, error)
}

func addUIFlags(f *pflag.FlagSet, o *uiOptions) {
	f.IntVar(&o.scrollback, "scrollback", 10000, "output lines kept viewable in the TUI (the transcript keeps all)")
}

func (u *uiOptions) requests() *ui.Requests {
	if u.reqs == nil {
		u.reqs = ui.NewRequests()
	}
	return u.reqs
}

// sshPrompts routes the SSH transport's interactive callbacks (unknown host
// key, key passphrase, sudo password, password) to the TUI: masked input,
// used once, never stored. newRemote calls it for interactive runs.
func (u *uiOptions) sshPrompts(cfg *ssh.Config) {
	r := u.requests()
	// The callbacks have no context; the TUI ending (Requests.Close) is what
	// releases a pending one.
	ctx := context.Background()
	cfg.HostKeyPrompt = func(host, addr string, key gossh.PublicKey, fingerprint string) (bool, error) {
		name := host
		if addr != "" && addr != host {
			name += " (" + addr + ")"
		}
		return r.HostKey(ctx, name, key.Type(), fingerprint)
	}
	cfg.PassphrasePrompt = func(keyPath string) ([]byte, error) {
		return r.Secret(ctx, "Passphrase for "+keyPath, "")
	}
	cfg.SudoPassword = func(host string) ([]byte, error) {
		return r.Secret(ctx, "sudo password on "+host, host)
	}
	cfg.PasswordPrompt = func(user, host string) ([]byte, error) {
		return r.Secret(ctx, "Password for "+user+"@"+host, host)
	}
}

// runInteractive walks the runbook in the TUI and maps its outcome to the
// documented exit codes.
func runInteractive(ctx context.Context, o *runOptions, rb *engine.Runbook, sopts engine.Options) error {
	cfg := ui.Config{
		Runbook:    rb,
		Options:    sopts,
		Requests:   o.ui.requests(),
		Scrollback: o.ui.scrollback,
	}
	// The bundle is exported from the final screen (automatically) or the quit
	// dialog; drive finalises it after the TUI closes if neither happened.
	cfg.ExportBundle = o.ui.export
	if cfg.ExportBundle == nil {
		cfg.BundleNote = "none (run with --bundle DIR to write one)"
	}
	res, err := ui.Run(ctx, cfg)
	if err != nil {
		return &exitError{code: auto.ExitFailure, err: err}
	}
	if res.Err != nil {
		return &exitError{code: auto.ExitFailure, err: fmt.Errorf("session stopped: %w", res.Err)}
	}
	fmt.Fprintf(o.stdout, "%s: %s\n", rb.ID, outcomeText(res.Outcome))
	if res.BundlePath != "" {
		fmt.Fprintf(o.stdout, "bundle: %s\n", res.BundlePath)
	}
	if res.BundleErr != nil {
		fmt.Fprintf(o.stderr, "runbook: bundle: %v\n", res.BundleErr)
	}
	switch res.Outcome {
	case engine.OutcomeResolved:
		return nil
	case engine.OutcomeEscalated:
		return &exitError{code: auto.ExitEscalated} // the summary above says it
	}
	return &exitError{code: auto.ExitAborted}
}

func outcomeText(o engine.Outcome) string {
	if o == "" {
		return string(engine.OutcomeAborted)
	}
	return string(o)
}
