package ssh

import (
	"fmt"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Policy says what to do with a host whose key is not in known_hosts.
// A changed key is refused under every policy.
type Policy string

const (
	// PolicyStrict refuses unknown hosts (default; --auto).
	PolicyStrict Policy = "strict"
	// PolicyAsk shows the fingerprint and asks (Config.HostKeyPrompt); the TUI default.
	PolicyAsk Policy = "ask"
	// PolicyAcceptNew trusts and records a host seen for the first time.
	PolicyAcceptNew Policy = "accept-new"
)

// ParsePolicy validates a --host-key-policy value.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case PolicyStrict, PolicyAsk, PolicyAcceptNew:
		return p, nil
	}
	return "", fmt.Errorf("host key policy %q: want strict, ask or accept-new", s)
}

// Config configures a Client. The zero value works like `ssh` for the
// current user: ~/.ssh/config, the agent, default identities, known_hosts,
// strict host keys. Tests and simulated fleets set everything explicitly
// and need no ~/.ssh.
type Config struct {
	// Identities are private key files offered first, in order (-i).
	Identities []string
	// Signers are keys held in memory, offered before Identities.
	Signers []gossh.Signer
	// NoAgent ignores SSH_AUTH_SOCK.
	NoAgent bool
	// NoDefaultIdentities skips ~/.ssh/id_* when nothing else is configured.
	NoDefaultIdentities bool

	// KnownHosts are known_hosts files; default ~/.ssh/known_hosts plus
	// ssh_config's UserKnownHostsFile. New keys are written to the first.
	KnownHosts []string
	// HostKeyPolicy for unknown hosts; default strict. ssh_config's
	// StrictHostKeyChecking (yes, accept-new, ask) may tighten it per host
	// but never loosen it.
	HostKeyPolicy Policy

	// SSHConfig is an ssh_config file (-F). Empty: ~/.ssh/config and
	// /etc/ssh/ssh_config when they exist. NoSSHConfig reads none.
	SSHConfig   string
	NoSSHConfig bool
	// Resolver: how ssh_config is applied to a host (--ssh-resolve). Auto
	// uses the built-in parser and asks `ssh -G` (SSHBinary, default ssh on
	// PATH) when the config has Match blocks or the parser cannot read it.
	Resolver  Resolver
	SSHBinary string
	// Aliases map a host name to the address to dial ("127.0.0.1:2222"),
	// like HostName+Port in ssh_config; known_hosts is checked against the
	// dialled address, as OpenSSH does.
	Aliases map[string]string
	// User when neither the target nor ssh_config names one (default: $USER).
	User string

	// HandshakeTimeout bounds the whole dial: TCP connect, key exchange and
	// authentication, per hop. Default 15 s; ssh_config ConnectTimeout wins.
	HandshakeTimeout time.Duration
	// KeepaliveInterval between keepalive@openssh.com requests (default 15 s);
	// the host is declared dead after KeepaliveMax unanswered ones (default 3).
	KeepaliveInterval time.Duration
	KeepaliveMax      int
	// MaxSessions per connection (default 8, under OpenSSH's MaxSessions 10);
	// further commands queue.
	MaxSessions int
	// Forks is how many hosts run a command (or a collection) at once
	// (default 32, --forks); the others queue.
	Forks int
	// KillAfter is how long the remote watchdog waits after TERM before it
	// KILLs the command's process group, once a timeout or cancel closed
	// its stdin (default 5 s).
	KillAfter time.Duration
	// FetchAhead is how many files a fetch opens ahead of the one being
	// delivered (default 4).
	FetchAhead int

	// AllowPassword enables password and keyboard-interactive auth through
	// PasswordPrompt.
	AllowPassword  bool
	PasswordPrompt func(user, host string) ([]byte, error)

	// HostKeyPrompt answers PolicyAsk: show the fingerprint, return true to
	// trust (the key is then added to known_hosts).
	HostKeyPrompt func(host, addr string, key gossh.PublicKey, fingerprint string) (bool, error)
	// PassphrasePrompt decrypts an encrypted identity file. Without it (--auto)
	// an encrypted key that the agent does not hold is an ErrPassphrase note.
	PassphrasePrompt func(keyPath string) ([]byte, error)
	// SudoPassword is asked when `sudo -n` refuses; the password goes to
	// `sudo -S` on stdin. Without it the step fails with SudoPasswordError.
	SudoPassword func(host string) ([]byte, error)
}

func (c *Config) defaults() {
	if c.HostKeyPolicy == "" {
		c.HostKeyPolicy = PolicyStrict
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 15 * time.Second
	}
	if c.KeepaliveInterval <= 0 {
		c.KeepaliveInterval = 15 * time.Second
	}
	if c.KeepaliveMax <= 0 {
		c.KeepaliveMax = 3
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 8
	}
	if c.Forks <= 0 {
		c.Forks = 32
	}
	if c.KillAfter <= 0 {
		c.KillAfter = 5 * time.Second
	}
	if c.FetchAhead <= 0 {
		c.FetchAhead = 4
	}
}
