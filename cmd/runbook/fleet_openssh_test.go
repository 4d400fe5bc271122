package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// fleetRunbook asks every node the same question and follows the answer:
// the nodes that say "degraded" are named in the end message.
const fleetRunbook = `runbook: 1
id: fleet-check
title: Ask every node over real SSH
targets:
  nodes: {description: every node, group: true}
steps:
  - id: health
    title: What does each node report?
    run: {on: nodes, cmd: 'cat "$HOME/health"', timeout: 30s}
    capture: {state: '(?m)^(ok|degraded)$'}
    branches:
      - {if: 'all(results, .exit == 0 && .state == "ok")', goto: healthy}
      - {if: 'all(results, .exit == 0 && has(.state))', goto: degraded}
    else: broken
  - id: healthy
    end: resolved
    message: Every node is healthy.
  - id: degraded
    end: escalated
    message: 'Degraded: {{ join(map(filter(steps.health.results, .state == "degraded"), .host), ", ") }}'
  - id: broken
    end: escalated
    message: A node did not answer.
`

// A fleet the way an operator has one: 12 real OpenSSH daemons (own host
// keys) behind one bastion that keeps OpenSSH's default MaxStartups
// 10:30:100, named in an Ansible inventory, reached through ssh_config
// ProxyJump, host keys checked strictly against a pre-filled known_hosts.
// Every node answers, the divergent ones are named, the bastion carries one
// connection, and the same holds when ssh_config is resolved by `ssh -G`.
func TestRunFleetOverRealSSHD(t *testing.T) {
	isolateState(t)
	const n = 12
	// The bastion keeps OpenSSH's default MaxStartups, and logs accepts.
	bastion, err := sshtest.StartOpenSSH(t.TempDir(), "MaxStartups 10:30:100", "LogLevel INFO")
	if errors.Is(err, sshtest.ErrNoSSHD) {
		t.Skip("SKIP real OpenSSH test: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bastion.Close() })
	nodes := make([]*sshtest.OpenSSH, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = sshtest.StartOpenSSH(t.TempDir())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { nodes[i].Close() })
	}
	// One operator key for every daemon.
	authorized, err := os.ReadFile(filepath.Join(bastion.Dir, "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var known, inv strings.Builder
	kb, _ := os.ReadFile(bastion.KnownHosts)
	known.Write(kb)
	known.WriteString("\n")
	inv.WriteString("[fleet]\n")
	wantDegraded := map[string]bool{}
	for i, o := range nodes {
		name := fmt.Sprintf("node%02d", i+1)
		host := name // as the inventory names it (dialled at its ansible_port)
		if i == 3 || i == 8 {
			wantDegraded[host] = true
		}
		if err := os.WriteFile(filepath.Join(o.Dir, "authorized_keys"), authorized, 0o600); err != nil {
			t.Fatal(err)
		}
		health := "ok\n"
		if wantDegraded[host] {
			health = "degraded\n"
		}
		os.WriteFile(filepath.Join(o.Home, "health"), []byte(health), 0o644)
		k, _ := os.ReadFile(o.KnownHosts)
		known.Write(k)
		known.WriteString("\n")
		fmt.Fprintf(&inv, "%s ansible_port=%d\n", name, o.Port)
	}
	knownFile := filepath.Join(dir, "known_hosts")
	invFile := filepath.Join(dir, "hosts.ini")
	cfgFile := filepath.Join(dir, "ssh_config")
	rb := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(knownFile, []byte(known.String()), 0o600)
	os.WriteFile(invFile, []byte(inv.String()), 0o600)
	os.WriteFile(rb, []byte(fleetRunbook), 0o600)
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`Host bastion
  HostName 127.0.0.1
  Port %d
Host node*
  HostName 127.0.0.1
  ProxyJump bastion
Host *
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
`, bastion.Port, bastion.User, bastion.IdentityFile, knownFile)), 0o600)
	for i, resolver := range []string{"builtin", "openssh"} {
		t.Run("resolve "+resolver, func(t *testing.T) {
			if resolver == "openssh" {
				if _, err := os.Stat("/usr/bin/ssh"); err != nil {
					t.Skip("no OpenSSH client for ssh -G")
				}
			}
			var stdout, stderr bytes.Buffer
			code := mainRun([]string{"run", rb, "--auto", "--output", "json",
				"--inventory", invFile, "--target", "nodes=@fleet", "-F", cfgFile, "--ssh-resolve", resolver},
				strings.NewReader(""), &stdout, &stderr)
			var out struct {
				Outcome string
				Message string
				Path    []struct {
					Step    string
					Results []struct {
						Host     string
						Exit     int
						Error    string
						Captures map[string]string
					}
				}
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("exit %d, output not JSON (%v):\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
			}
			// Hosts are named as the inventory names them, not by the
			// address and port they are dialled at.
			want := "Degraded: node04, node09"
			if code != 3 || out.Outcome != "escalated" || out.Message != want {
				t.Fatalf("exit %d outcome %q message %q\nstderr:\n%s", code, out.Outcome, out.Message, stderr.String())
			}
			var answered []string
			for _, r := range out.Path[0].Results {
				if r.Exit != 0 || r.Error != "" || r.Captures["state"] == "" {
					t.Errorf("%s: exit %d error %q captures %v", r.Host, r.Exit, r.Error, r.Captures)
				}
				if (r.Captures["state"] == "degraded") != wantDegraded[r.Host] {
					t.Errorf("%s answered %q", r.Host, r.Captures["state"])
				}
				answered = append(answered, r.Host)
			}
			sort.Strings(answered)
			if len(answered) != n || answered[0] != "node01" || answered[n-1] != "node12" {
				t.Errorf("hosts that answered: %v", answered)
			}
			if got := strings.Count(bastion.Log(), "Accepted publickey"); got != i+1 {
				t.Errorf("bastion accepted %d connections after %d runs, want one per run shared by all %d nodes", got, i+1, n)
			}
		})
	}
}
