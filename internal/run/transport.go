package run

import (
	"context"
	"fmt"
	"io"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ui"
)

// router sends `local` hosts to the local executor and the rest to remote.
type router struct {
	local  engine.Executor
	remote engine.Executor
}

func (r router) pick(h engine.Host) (engine.Executor, error) {
	if h.IsLocal() {
		return r.local, nil
	}
	if r.remote == nil {
		return nil, fmt.Errorf("%s: no transport for remote hosts configured", h.Name)
	}
	return r.remote, nil
}

func (r router) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	ex, err := r.pick(h)
	if err != nil {
		return engine.CommandResult{Exit: -1}, err
	}
	return ex.Run(ctx, h, req, stdout, stderr)
}

func (r router) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	ex, err := r.pick(h)
	if err != nil {
		return err
	}
	return ex.Fetch(ctx, h, req, c)
}

// bridgePrompts routes the SSH transport's questions (unknown host key, key
// passphrase, sudo password, password) to the TUI through r: masked input,
// used once, never stored. The transport's callbacks carry no context; r is
// closed when the TUI quits, which releases any
// question still waiting; every question also obeys ctx, the run's context.
func bridgePrompts(ctx context.Context, cfg *ssh.Config, r *ui.Requests) {
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
