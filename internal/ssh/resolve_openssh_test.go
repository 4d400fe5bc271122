package ssh

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func needOpenSSHClient(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("OpenSSH client not installed")
	}
}

// resolverCorpus is ssh_config as people write it: aliases, wildcards,
// negation, first-match-wins across blocks and Includes, tokens, jump
// hosts, proxies, host-key settings. Every host below must resolve the same
// through the library parser and through `ssh -G`.
var resolverCorpus = []struct {
	name   string
	config string // {{dir}} is the test's directory
	hosts  []string
}{
	{"aliases and defaults", `
Host db1
  HostName 10.0.0.9
  Port 2200
  User postgres
Host web-*
  User deploy
Host *
  User fallback
`, []string{"db1", "root@db1", "db1:2222", "web-3", "ops@web-3:2022", "other", "ssh://admin@other:2200"}},
	{"negation and first match", `
Host *.prod !bastion.prod
  ProxyJump ops@bastion.prod:2222,inner.prod
  User app
Host bastion.prod
  User jump
  IdentityFile ~/.ssh/jump_key
  IdentitiesOnly yes
Host *
  ConnectTimeout 7
`, []string{"api.prod", "bastion.prod", "x.dev"}},
	{"tokens", `
Host node?
  HostName %h.cluster.internal
  IdentityFile ~/.ssh/id_%h
  IdentityFile ~/.ssh/fleet_%r
  User core
`, []string{"node1", "admin@node2"}},
	{"proxy command", `
Host teleport-*
  ProxyCommand tsh proxy ssh --cluster=prod %r@%h:%p
Host ssm-*
  ProxyCommand sh -c "aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p"
  User ec2-user
`, []string{"teleport-a", "ssm-i-0123"}},
	{"host keys", `
Host strict
  StrictHostKeyChecking yes
  UserKnownHostsFile {{dir}}/kh1 {{dir}}/kh2
Host lax
  StrictHostKeyChecking accept-new
  HostKeyAlias lax-primary
Host off
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
`, []string{"strict", "lax", "off"}},
	{"include", `
Include {{dir}}/conf.d/*.conf
Host *
  User last
`, []string{"inc-a", "inc-b", "plain"}},
}

func TestResolverAgreement(t *testing.T) {
	needOpenSSHClient(t)
	for _, tc := range resolverCorpus {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "conf.d"), 0o700)
			os.WriteFile(filepath.Join(dir, "conf.d", "a.conf"), []byte("Host inc-a\n  HostName 192.0.2.1\n  Port 2201\n"), 0o600)
			os.WriteFile(filepath.Join(dir, "conf.d", "b.conf"), []byte("Host inc-b inc-a\n  User from-b\n  Port 2202\n"), 0o600)
			cfg := filepath.Join(dir, "config")
			os.WriteFile(cfg, []byte(strings.ReplaceAll(tc.config, "{{dir}}", dir)), 0o600)
			kh := filepath.Join(dir, "known_hosts")
			builtin, err := New(Config{SSHConfig: cfg, Resolver: ResolveBuiltin, NoAgent: true, KnownHosts: []string{kh}, User: "op"})
			if err != nil {
				t.Fatal(err)
			}
			openssh, err := New(Config{SSHConfig: cfg, Resolver: ResolveOpenSSH, NoAgent: true, KnownHosts: []string{kh}, User: "op"})
			if err != nil {
				t.Fatal(err)
			}
			if openssh.sshG == "" {
				t.Fatal("--ssh-resolve openssh did not choose ssh -G")
			}
			for _, h := range tc.hosts {
				b, err := builtin.resolve(h)
				if err != nil {
					t.Fatalf("builtin %s: %v", h, err)
				}
				o, err := openssh.resolve(h)
				if err != nil {
					t.Fatalf("ssh -G %s: %v", h, err)
				}
				if !reflect.DeepEqual(b, o) {
					t.Errorf("%s resolves differently:\n builtin %+v\n ssh -G  %+v", h, b, o)
				}
			}
		})
	}
}

// Match blocks are OpenSSH's; auto mode hands them to ssh -G, so a config
// the library cannot parse (Match user, Match exec) still works, and the
// values are what the operator's ssh uses.
func TestResolveMatchThroughOpenSSH(t *testing.T) {
	needOpenSSHClient(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "on-vpn")
	os.WriteFile(flag, nil, 0o600)
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte(`
Match user deploy host web-*
  ConnectTimeout 4
  IdentityFile ~/.ssh/deploy_key
Match exec "test -e `+flag+`" host *.corp
  ProxyJump jump.corp
Host web-*
  HostName %h.example.net
`), 0o600)
	if _, err := New(Config{SSHConfig: cfg, Resolver: ResolveBuiltin, NoAgent: true}); err == nil {
		t.Fatal("the library parser accepted Match exec; this test no longer shows why ssh -G is needed")
	}
	c, err := New(Config{SSHConfig: cfg, NoAgent: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if err != nil {
		t.Fatalf("auto resolver refused a config OpenSSH reads: %v", err)
	}
	home, _ := os.UserHomeDir()
	ep, err := c.resolve("deploy@web-1")
	if err != nil {
		t.Fatal(err)
	}
	if ep.HostName != "web-1.example.net" || ep.ConnectTimeout != 4*time.Second || ep.User != "deploy" ||
		!reflect.DeepEqual(ep.Identities, []string{home + "/.ssh/deploy_key"}) {
		t.Errorf("Match user deploy host web-*: %+v", ep)
	}
	if ep, _ := c.resolve("other@web-1"); ep.ConnectTimeout != 0 || len(ep.Identities) != 0 {
		t.Errorf("Match user deploy applied to user other: %+v", ep)
	}
	if ep, _ := c.resolve("db.corp"); !reflect.DeepEqual(ep.Jumps, []string{"jump.corp"}) {
		t.Errorf("Match exec (true) host *.corp: jumps %v", ep.Jumps)
	}
	os.Remove(flag)
	c2, _ := New(Config{SSHConfig: cfg, NoAgent: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if ep, _ := c2.resolve("db.corp"); len(ep.Jumps) != 0 {
		t.Errorf("Match exec (false) still jumps: %v", ep.Jumps)
	}
}

// An Included file with a Match block also switches auto mode to ssh -G.
func TestResolveAutoSeesMatchInInclude(t *testing.T) {
	needOpenSSHClient(t)
	dir := t.TempDir()
	inc := filepath.Join(dir, "match.conf")
	os.WriteFile(inc, []byte("Match host *.lab\n  Port 2022\n"), 0o600)
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("Include "+inc+"\nHost x\n  User y\n"), 0o600)
	c, err := New(Config{SSHConfig: cfg, NoAgent: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if err != nil {
		t.Fatal(err)
	}
	if c.sshG == "" {
		t.Fatal("auto mode kept the library parser for a config with Match in an Include")
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("Host x\n  User y\n"), 0o600)
	c, _ = New(Config{SSHConfig: plain, NoAgent: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if c.sshG != "" {
		t.Fatal("auto mode runs ssh -G for a config the parser handles (one exec per host for nothing)")
	}
}

// Without OpenSSH the parser is the fallback, and a config only OpenSSH
// can read fails in New with both reasons.
func TestResolveFallbackWithoutOpenSSH(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("Match host *.lab\n  Port 2022\nHost a\n  HostName 10.1.1.1\n"), 0o600)
	kh := []string{filepath.Join(dir, "kh")}
	c, err := New(Config{SSHConfig: cfg, SSHBinary: filepath.Join(dir, "no-ssh"), NoAgent: true, KnownHosts: kh})
	if err != nil {
		t.Fatal(err)
	}
	if ep, _ := c.resolve("a"); c.sshG != "" || ep.HostName != "10.1.1.1" {
		t.Errorf("fallback: sshG=%q ep=%+v", c.sshG, ep)
	}
	os.WriteFile(cfg, []byte("Match exec true\n  Port 2022\n"), 0o600)
	_, err = New(Config{SSHConfig: cfg, SSHBinary: filepath.Join(dir, "no-ssh"), NoAgent: true, KnownHosts: kh})
	if err == nil || !strings.Contains(err.Error(), "Match Exec") || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("want the parser's error and that ssh is missing, got %v", err)
	}
	_, err = New(Config{SSHConfig: cfg, Resolver: ResolveOpenSSH, SSHBinary: filepath.Join(dir, "no-ssh"), NoAgent: true, KnownHosts: kh})
	if err == nil || !strings.Contains(err.Error(), "--ssh-resolve builtin") {
		t.Errorf("--ssh-resolve openssh without ssh: %v", err)
	}
}

// A config line OpenSSH rejects is reported with OpenSSH's own words.
func TestResolveOpenSSHErrorSaysWhy(t *testing.T) {
	needOpenSSHClient(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("Host a\n  NoSuchOption yes\n"), 0o600)
	c, err := New(Config{SSHConfig: cfg, Resolver: ResolveOpenSSH, NoAgent: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.resolve("a")
	if err == nil || !strings.Contains(err.Error(), "Bad configuration option") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("got %v", err)
	}
}
