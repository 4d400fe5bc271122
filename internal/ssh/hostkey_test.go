package ssh_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// TestHostKeyInfo: the Client says which key it verified for each host
// and how it was trusted: the known_hosts line, accept-new, the operator.
func TestHostKeyInfo(t *testing.T) {
	e := newEnv(t, sshtest.Options{Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, nil)
	ctx := testCtx(t)
	fp := gossh.FingerprintSHA256(e.srv.HostKey())
	other, _ := sshtest.NewSigner()
	want := func(c *rbssh.Client, name, trust, source string) {
		t.Helper()
		info, ok := c.HostKey(name)
		if !ok || info.Fingerprint != fp || info.KeyType != "ssh-ed25519" || info.Trust != trust || info.Source != source ||
			info.Host != fmt.Sprintf("127.0.0.1:%d", e.srv.Port()) {
			t.Errorf("HostKey(%q) = %+v, %v; want %s %s %s", name, info, ok, fp, trust, source)
		}
	}

	// known_hosts, on its second line (another host's key first).
	c := e.config()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, kh, "[10.9.9.9]:22 "+string(gossh.MarshalAuthorizedKey(other.PublicKey()))+e.srv.KnownHostsLine()+"\n")
	c.KnownHosts = []string{kh}
	cl := e.newClient(c)
	if _, ok := cl.HostKey(e.host.Name); ok {
		t.Error("HostKey before any connection")
	}
	if o := run(ctx, cl, e.host, engine.CommandRequest{Script: "true"}); o.err != nil {
		t.Fatal(o.err)
	}
	want(cl, e.host.Name, rbssh.TrustKnownHosts, kh+":2")
	// The same host under another spelling of its name.
	want(cl, "ssh://"+e.host.Name, rbssh.TrustKnownHosts, kh+":2")

	// accept-new and the operator: the file the key went to.
	for _, p := range []rbssh.Policy{rbssh.PolicyAcceptNew, rbssh.PolicyAsk} {
		c = e.config()
		kh = filepath.Join(t.TempDir(), "known_hosts")
		c.KnownHosts, c.HostKeyPolicy = []string{kh}, p
		c.HostKeyPrompt = func(host, addr string, key gossh.PublicKey, f string) (bool, error) { return true, nil }
		cl = e.newClient(c)
		if o := run(ctx, cl, e.host, engine.CommandRequest{Script: "true"}); o.err != nil {
			t.Fatal(o.err)
		}
		trust := rbssh.TrustAcceptNew
		if p == rbssh.PolicyAsk {
			trust = rbssh.TrustOperator
		}
		want(cl, e.host.Name, trust, kh)
	}
}

// TestCommandTooLongIsRefusedBeforeSending: a command the host's exec
// would refuse ("Argument list too long", exit 1, as if the probe had
// answered: a sudo command line, or a script that runs as `sh -c SCRIPT`)
// is an error and nothing is sent.
func TestCommandTooLongIsRefusedBeforeSending(t *testing.T) {
	e := newEnv(t, sshtest.Options{Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, nil)
	big := "printf %s " + strings.Repeat("a", 200<<10)
	for _, req := range []engine.CommandRequest{{Script: big, Sudo: true}, {Script: "echo $$; " + big}} {
		o := run(testCtx(t), e.client, e.host, req)
		if !errors.Is(o.err, rbssh.ErrCommandTooLong) {
			t.Fatalf("sudo %v: want ErrCommandTooLong, got %+v", req.Sudo, o)
		}
	}
	if e.srv.Execs() != 0 {
		t.Errorf("%d commands reached the server", e.srv.Execs())
	}
}
