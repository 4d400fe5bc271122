package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// maxOffered keeps us under OpenSSH's default MaxAuthTries (6): the server
// disconnects after that many failures, so offering every agent key before
// the configured one would lock us out.
const maxOffered = 5

// authPlan is what one dial offers, in order, and why some identities
// could not be offered (for the error message).
type authPlan struct {
	methods []gossh.AuthMethod
	offered []string
	notes   []string
	closers []func()
}

func (p *authPlan) close() {
	for _, f := range p.closers {
		f()
	}
}

// authFor builds the auth methods for ep: in-memory signers, then identity
// files (flags, then ssh_config, then ~/.ssh/id_* when none is configured),
// then agent keys unless IdentitiesOnly, capped at maxOffered; password and
// keyboard-interactive last and only when allowed.
func (c *Client) authFor(ep *endpoint) *authPlan {
	p := &authPlan{}
	var signers []gossh.Signer
	seen := map[string]bool{}
	addSigner := func(s gossh.Signer, label string) {
		k := string(s.PublicKey().Marshal())
		if seen[k] || len(signers) >= maxOffered {
			return
		}
		seen[k] = true
		signers = append(signers, s)
		p.offered = append(p.offered, label)
	}
	for _, s := range c.cfg.Signers {
		addSigner(s, "key "+s.PublicKey().Type()+" "+Fingerprint(s.PublicKey()))
	}

	var agentSigners []gossh.Signer
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !c.cfg.NoAgent {
		if conn, err := net.Dial("unix", sock); err == nil {
			p.closers = append(p.closers, func() { conn.Close() })
			if ss, err := agent.NewClient(conn).Signers(); err == nil {
				agentSigners = ss
			} else {
				p.notes = append(p.notes, fmt.Sprintf("ssh-agent: %v", err))
			}
		}
	}

	files := append(append([]string{}, c.cfg.Identities...), ep.Identities...)
	explicit := len(files) > 0 || len(c.cfg.Signers) > 0
	if len(files) == 0 && !c.cfg.NoDefaultIdentities && len(c.cfg.Signers) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				f := filepath.Join(home, ".ssh", n)
				if _, err := os.Stat(f); err == nil {
					files = append(files, f)
				}
			}
		}
	}
	for _, f := range files {
		s, err := c.loadIdentity(f, agentSigners)
		if err != nil {
			p.notes = append(p.notes, err.Error())
			continue
		}
		addSigner(s, "key "+f)
	}
	if !(ep.IdentitiesOnly && explicit) {
		for _, s := range agentSigners {
			addSigner(s, "agent key "+s.PublicKey().Type()+" "+Fingerprint(s.PublicKey()))
		}
	}
	if len(signers) > 0 {
		p.methods = append(p.methods, gossh.PublicKeys(signers...))
	}
	if c.cfg.AllowPassword && c.cfg.PasswordPrompt != nil {
		prompt := c.cfg.PasswordPrompt
		user, host := ep.User, ep.addr()
		p.methods = append(p.methods,
			gossh.RetryableAuthMethod(gossh.PasswordCallback(func() (string, error) {
				b, err := prompt(user, host)
				return string(b), err
			}), 3),
			gossh.RetryableAuthMethod(gossh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					b, err := prompt(user, host)
					if err != nil {
						return nil, err
					}
					answers[i] = string(b)
				}
				return answers, nil
			}), 3))
		p.offered = append(p.offered, "password")
	}
	return p
}

// loadIdentity reads a private key file. An encrypted key is used through
// the agent when the agent holds it (matched by the .pub beside it), else
// through PassphrasePrompt, else it is reported with ErrPassphrase.
func (c *Client) loadIdentity(path string, agentSigners []gossh.Signer) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	s, err := gossh.ParsePrivateKey(data)
	if err == nil {
		return s, nil
	}
	var missing *gossh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	pub := missing.PublicKey
	if pub == nil {
		if b, err := os.ReadFile(path + ".pub"); err == nil {
			pub, _, _, _, _ = gossh.ParseAuthorizedKey(b)
		}
	}
	if pub != nil {
		for _, as := range agentSigners {
			if bytes.Equal(as.PublicKey().Marshal(), pub.Marshal()) {
				return as, nil
			}
		}
	}
	if c.cfg.PassphrasePrompt == nil {
		return nil, fmt.Errorf("identity %s: %w (add it to ssh-agent for unattended runs)", path, ErrPassphrase)
	}
	pass, err := c.cfg.PassphrasePrompt(path)
	if err != nil {
		return nil, fmt.Errorf("identity %s: passphrase: %w", path, err)
	}
	s, err = gossh.ParsePrivateKeyWithPassphrase(data, pass)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	return s, nil
}
