package ssh_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// 40 hosts behind one bastion, both real OpenSSH sshd with the default
// MaxStartups 10:30:100: every host answers, the bastion sees one
// connection (OpenSSH's -J would open 40 and be dropped), and the target
// daemon's drops (rare with the handshake limit: sshd counts a startup a
// little past authentication) are retried.
func TestFleetBehindOneBastion(t *testing.T) {
	// OpenSSH's defaults, which the test daemons otherwise raise.
	bastion := startOpenSSH(t, "MaxStartups 10:30:100", "LogLevel INFO")
	target := startOpenSSH(t, "MaxStartups 10:30:100", "LogLevel INFO")
	dir := t.TempDir()
	known := filepath.Join(dir, "known_hosts")
	kb, _ := os.ReadFile(bastion.KnownHosts)
	kt, _ := os.ReadFile(target.KnownHosts)
	os.WriteFile(known, []byte(string(kb)+"\n"+string(kt)+"\n"), 0o600)
	cfg := filepath.Join(dir, "ssh_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host bastion\n  HostName 127.0.0.1\n  Port %d\n  User %s\n\nHost node*\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  ProxyJump bastion\n",
		bastion.Port, bastion.User, target.Port, target.User)), 0o600)
	c, err := rbssh.New(rbssh.Config{Signers: []gossh.Signer{bastion.Signer, target.Signer}, NoAgent: true, NoDefaultIdentities: true,
		SSHConfig: cfg, KnownHosts: []string{known}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 40
	var wg sync.WaitGroup
	errs := make([]string, n)
	ctx := testCtx(t)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := run(ctx, c, engine.Host{Role: "nodes", Name: fmt.Sprintf("node%02d", i)}, engine.CommandRequest{Step: "s", Script: "echo ok", Timeout: 60 * time.Second})
			if res.err != nil || strings.TrimSpace(res.stdout) != "ok" {
				errs[i] = fmt.Sprintf("node%02d: %v %q", i, res.err, res.stdout)
			}
		}()
	}
	wg.Wait()
	var failed []string
	for _, e := range errs {
		if e != "" {
			failed = append(failed, e)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d hosts failed:\n%s", len(failed), n, strings.Join(failed, "\n"))
	}
	if got := strings.Count(bastion.Log(), "Accepted publickey"); got != 1 {
		t.Errorf("bastion accepted %d connections, want 1 shared by every host", got)
	}
	if got := strings.Count(target.Log(), "Accepted publickey"); got != n {
		t.Errorf("target accepted %d connections, want %d", got, n)
	}
}
