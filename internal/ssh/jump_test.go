package ssh_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func TestProxyJump(t *testing.T) {
	key, _ := sshtest.NewSigner()
	jump, err := sshtest.NewServer(sshtest.Options{AuthorizedKeys: []gossh.PublicKey{key.PublicKey()}, AllowForwarding: true})
	if err != nil {
		t.Fatal(err)
	}
	defer jump.Close()
	var user string
	target, err := sshtest.NewServer(sshtest.Options{AuthorizedKeys: []gossh.PublicKey{key.PublicKey()},
		Handler: func(r *sshtest.Request) *sshtest.Response {
			user = r.User
			return &sshtest.Response{Stdout: "behind\n"}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	writeFile(t, cfg, fmt.Sprintf("Host app\n  HostName 127.0.0.1\n  Port %d\n  User alice\n  ProxyJump bastion\n\nHost bastion\n  HostName 127.0.0.1\n  Port %d\n  User bob\n", target.Port(), jump.Port()))
	known := filepath.Join(dir, "known_hosts")
	writeFile(t, known, jump.KnownHostsLine()+"\n"+target.KnownHostsLine()+"\n")
	c, err := rbssh.New(rbssh.Config{Signers: []gossh.Signer{key}, NoAgent: true, NoDefaultIdentities: true, SSHConfig: cfg, KnownHosts: []string{known}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := run(testCtx(t), c, engine.Host{Name: "app"}, engine.CommandRequest{Script: "hostname"})
	if o.err != nil || o.stdout != "behind\n" || user != "alice" {
		t.Fatalf("through the jump host: %+v user %q", o, user)
	}
	// One connection to the jump host; the target's single connection comes
	// from the jump host's forwarding.
	if jump.Accepted() != 1 || target.Accepted() != 1 {
		t.Errorf("jump accepted %d, target accepted %d", jump.Accepted(), target.Accepted())
	}

	// The target's key is checked under its own name: known_hosts that
	// trusts only the jump host must not let the target through.
	other, _ := sshtest.NewSigner()
	writeFile(t, known, jump.KnownHostsLine()+"\n"+fmt.Sprintf("[127.0.0.1]:%d %s", target.Port(), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(other.PublicKey()))))+"\n")
	c2, _ := rbssh.New(rbssh.Config{Signers: []gossh.Signer{key}, NoAgent: true, NoDefaultIdentities: true, SSHConfig: cfg, KnownHosts: []string{known}})
	defer c2.Close()
	o = run(testCtx(t), c2, engine.Host{Name: "app"}, engine.CommandRequest{Script: "hostname"})
	var de *rbssh.DialError
	if !errors.Is(o.err, rbssh.ErrHostKeyChanged) || !errors.As(o.err, &de) || !strings.Contains(de.Via, fmt.Sprint(jump.Port())) {
		t.Fatalf("changed target key behind a jump host: %v", o.err)
	}
}

func TestEncryptedIdentityWithoutPrompt(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := gossh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := gossh.NewSignerFromKey(priv)
	e := newEnv(t, sshtest.Options{AuthorizedKeys: []gossh.PublicKey{signer.PublicKey()},
		Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, nil)
	keyFile := filepath.Join(e.dir, "id_ed25519")
	writeFile(t, keyFile, string(pem.EncodeToMemory(block)))
	c := e.config()
	c.Signers, c.Identities = nil, []string{keyFile}
	o := run(testCtx(t), e.newClient(c), e.host, engine.CommandRequest{Script: "true"})
	var ae *rbssh.AuthError
	if !errors.As(o.err, &ae) || !strings.Contains(o.err.Error(), rbssh.ErrPassphrase.Error()) {
		t.Fatalf("--auto with an encrypted key: want AuthError mentioning the passphrase, got %v", o.err)
	}
	if !engine.IsAuthFailure(o.err) || engine.IsTimeout(o.err) {
		t.Errorf("an auth failure: IsAuthFailure %v, IsTimeout %v", engine.IsAuthFailure(o.err), engine.IsTimeout(o.err))
	}
	// The operator takes longer to type it than the handshake may last:
	// the prompt (and the key's KDF) run before the handshake deadline.
	c.HandshakeTimeout = 3 * time.Second
	c.PassphrasePrompt = func(path string) ([]byte, error) {
		<-time.After(4 * time.Second) // a person typing
		return []byte("pass"), nil
	}
	if o = run(testCtx(t), e.newClient(c), e.host, engine.CommandRequest{Script: "true"}); o.err != nil {
		t.Fatalf("with a passphrase prompt: %v", o.err)
	}
}
