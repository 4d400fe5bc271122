package ssh_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// A host behind ProxyCommand, reached the way Teleport, SSM or a jump
// script reach it: here the real OpenSSH client's `ssh -W %h:%p` through a
// real sshd acting as the bastion. The host key is still checked under the
// target's own name, and closing the client ends the proxy process.
func TestProxyCommandThroughRealSSHW(t *testing.T) {
	o := startOpenSSH(t)
	if _, err := os.Stat("/usr/bin/ssh"); err != nil {
		t.Skip("SKIP: no OpenSSH client (/usr/bin/ssh) for the ProxyCommand")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "proxy.pid")
	cfg := filepath.Join(dir, "ssh_config")
	proxy := fmt.Sprintf(`sh -c 'echo $$ > %s; exec /usr/bin/ssh -F /dev/null -i %s -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -p %%p -W %%h:%%p %%r@%%h'`,
		pidFile, o.IdentityFile, o.KnownHosts)
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host behind\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  ProxyCommand %s\n",
		o.Port, o.User, o.IdentityFile, proxy)), 0o600)
	conf := o.Config()
	conf.SSHConfig, conf.NoSSHConfig = cfg, false
	c, err := rbssh.New(conf)
	if err != nil {
		t.Fatal(err)
	}
	res := run(testCtx(t), c, engine.Host{Role: "web", Name: "behind"}, engine.CommandRequest{Step: "s", Script: "echo via-proxy", Timeout: 20 * time.Second})
	if res.err != nil || res.res.Exit != 0 || strings.TrimSpace(res.stdout) != "via-proxy" {
		t.Fatalf("run behind ProxyCommand: %+v", res)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the ProxyCommand did not run: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("proxy pid %q not running while connected", b)
	}
	c.Close()
	gone := false
	for range 100 { // bounded: 5 s
		if syscall.Kill(pid, 0) != nil {
			gone = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !gone {
		t.Fatalf("ProxyCommand process %d still runs after Close", pid)
	}
}

// A ProxyCommand that fails says so with what it printed, and an unknown
// token is refused before anything runs.
func TestProxyCommandErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ssh_config")
	os.WriteFile(cfg, []byte("Host broken\n  ProxyCommand sh -c 'echo no route to %h >&2; exit 3'\nHost badtoken\n  ProxyCommand nc %z %p\n"), 0o600)
	c, err := rbssh.New(rbssh.Config{SSHConfig: cfg, NoAgent: true, NoDefaultIdentities: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := run(testCtx(t), c, engine.Host{Name: "broken"}, engine.CommandRequest{Step: "s", Script: "true", Timeout: 10 * time.Second})
	if res.err == nil || !strings.Contains(res.err.Error(), "exited 3: no route to broken") {
		t.Errorf("failing proxy: %v, want its exit and stderr", res.err)
	}
	res = run(testCtx(t), c, engine.Host{Name: "badtoken"}, engine.CommandRequest{Step: "s", Script: "true", Timeout: 10 * time.Second})
	if res.err == nil || !strings.Contains(res.err.Error(), "token %z is not supported") {
		t.Errorf("unknown token: %v", res.err)
	}
}
