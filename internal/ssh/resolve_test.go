package ssh

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestResolveThroughSSHConfig(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "fleet.conf")
	cfgFile := filepath.Join(dir, "config")
	os.WriteFile(inc, []byte(`
Host web-*
  User deploy
  IdentityFile ~/.ssh/web_%h
  IdentitiesOnly yes
  ProxyJump ops@bastion:2222,inner
  ConnectTimeout 7
`), 0o600)
	os.WriteFile(cfgFile, []byte(`
Include `+inc+`

Host db1
  HostName 10.0.0.9
  Port 2200
  StrictHostKeyChecking yes
  UserKnownHostsFile `+dir+`/kh1 `+dir+`/kh2
  HostKeyAlias db-primary

Host *
  User fallback
`), 0o600)
	c, err := New(Config{SSHConfig: cfgFile, NoAgent: true, KnownHosts: []string{filepath.Join(dir, "kh")}})
	if err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	ep, err := c.resolve("web-3")
	if err != nil {
		t.Fatal(err)
	}
	want := &endpoint{Alias: "web-3", User: "deploy", HostName: "web-3", Port: 22,
		Identities: []string{home + "/.ssh/web_web-3"}, IdentitiesOnly: true,
		Jumps: []string{"ops@bastion:2222", "inner"}, ConnectTimeout: 7 * time.Second}
	if !reflect.DeepEqual(ep, want) {
		t.Errorf("web-3:\n got %+v\nwant %+v", ep, want)
	}
	ep, _ = c.resolve("root@db1")
	if ep.User != "root" || ep.HostName != "10.0.0.9" || ep.Port != 2200 || ep.Strict != "yes" ||
		!reflect.DeepEqual(ep.KnownHosts, []string{dir + "/kh1", dir + "/kh2"}) || ep.keyName() != "db-primary:2200" {
		t.Errorf("db1: %+v", ep)
	}
	ep, _ = c.resolve("other:2022")
	if ep.User != "fallback" || ep.Port != 2022 || ep.HostName != "other" {
		t.Errorf("other: %+v", ep)
	}
	if effectivePolicy(PolicyAcceptNew, "yes") != PolicyStrict || effectivePolicy(PolicyStrict, "no") != PolicyStrict {
		t.Errorf("ssh_config may tighten the policy, never loosen it")
	}
}
