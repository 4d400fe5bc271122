package main

import (
	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/ssh"
)

// sshOptions are the SSH transport flags of `runbook run`.
type sshOptions struct {
	identities []string
	config     string
	knownHosts []string
	policy     string
	password   bool
	forks      int
	resolve    string
}

func addSSHFlags(f *pflag.FlagSet, o *sshOptions) {
	f.StringArrayVarP(&o.identities, "identity", "i", nil, "SSH private key file to offer first (repeatable; ssh-agent and ssh_config's IdentityFile are used too)")
	f.StringVarP(&o.config, "ssh-config", "F", "", "ssh_config file (default ~/.ssh/config and /etc/ssh/ssh_config); --target ROLE=alias resolves through it")
	f.StringArrayVar(&o.knownHosts, "known-hosts", nil, "known_hosts file (repeatable; default ~/.ssh/known_hosts); new keys are added to the first")
	f.StringVar(&o.policy, "host-key-policy", "", "unknown host keys: strict, ask or accept-new (default ask in the TUI, strict with --auto); a changed key is always refused")
	f.BoolVar(&o.password, "ssh-password", false, "allow password and keyboard-interactive SSH authentication (asked in the TUI)")
	f.StringVar(&o.resolve, "ssh-resolve", "auto", "how ssh_config applies to a host: auto (built-in parser; ssh -G when the config has Match blocks or the parser cannot read it), openssh (always ssh -G, exactly as your ssh), builtin (never run ssh)")
	f.IntVar(&o.forks, "forks", 32, "hosts of a group that run a step at once (the rest queue); jump hosts are shared and handshakes to one address limited either way")
}

// config is the SSH transport's configuration. internal/run connects its
// prompts to the TUI; nothing dials until the first step (or pre-step).
func (o sshOptions) transport(interactive bool) (ssh.Config, error) {
	cfg := ssh.Config{
		Identities:    o.identities,
		SSHConfig:     o.config,
		KnownHosts:    o.knownHosts,
		HostKeyPolicy: ssh.PolicyStrict,
		AllowPassword: o.password,
		Forks:         o.forks,
	}
	if interactive {
		cfg.HostKeyPolicy = ssh.PolicyAsk
	}
	r, err := ssh.ParseResolver(o.resolve)
	if err != nil {
		return cfg, usageErr("--ssh-resolve: %v", err)
	}
	cfg.Resolver = r
	if o.policy != "" {
		p, err := ssh.ParsePolicy(o.policy)
		if err != nil {
			return cfg, usageErr("--host-key-policy: %v", err)
		}
		if p == ssh.PolicyAsk && !interactive {
			return cfg, usageErr("--host-key-policy ask needs the interactive TUI; use strict or accept-new with --auto")
		}
		cfg.HostKeyPolicy = p
	}
	if o.forks < 1 {
		return cfg, usageErr("--forks must be 1 or more")
	}
	if o.password && !interactive {
		return cfg, usageErr("--ssh-password needs the interactive TUI to ask for the password")
	}
	return cfg, nil
}
