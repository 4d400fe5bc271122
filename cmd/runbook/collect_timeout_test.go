package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// startSSHDOrSkip is startSSHD for tests that also run locally: nil (and
// a log line) when this machine has no sshd.
func startSSHDOrSkip(t *testing.T) *sshtest.OpenSSH {
	t.Helper()
	o, err := sshtest.StartOpenSSH(t.TempDir())
	if errors.Is(err, sshtest.ErrNoSSHD) {
		t.Log("SKIP the real OpenSSH half: ", err)
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

const collectTimeoutRunbook = `runbook: 1
id: slow-collect
title: A collect command that hangs
targets:
  web: {description: the host under test}
steps:
  - id: gather
    title: Gather diagnostics
    collect:
      - {on: web, cmd: "echo started; sleep 30", timeout: 1s}
    next: done
  - id: done
    end: resolved
`

// TestCollectCommandTimeoutEverySurface: a collect command whose timeout
// fires is a timeout on every surface — `--auto` text and `--output json`
// (the collect decision), the manifest entry (status, error, timed_out),
// the transcript's collect event and report.md — never
// "context deadline exceeded" (what SSH hosts said) nor "ok" (what local
// hosts said). Over the real OpenSSH sshd and locally.
func TestCollectCommandTimeoutEverySurface(t *testing.T) {
	dir := t.TempDir()
	rb := filepath.Join(dir, "slow.yaml")
	if err := os.WriteFile(rb, []byte(collectTimeoutRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	targets := map[string][]string{"local": {"--target", "web=local"}}
	if o := startSSHDOrSkip(t); o != nil {
		targets["ssh"] = []string{"--target", "web=" + o.Target(), "-i", o.IdentityFile, "--known-hosts", o.KnownHosts}
	}
	for name, targetArgs := range targets {
		for _, output := range []string{"text", "json"} {
			t.Run(name+" "+output, func(t *testing.T) {
				isolateState(t)
				bdir := t.TempDir()
				args := append([]string{"run", rb, "--auto", "--output", output, "--bundle", bdir}, targetArgs...)
				var stdout, stderr bytes.Buffer
				code := mainRun(args, strings.NewReader(""), &stdout, &stderr)
				all := stdout.String() + stderr.String()
				if code != 0 {
					t.Fatalf("exit %d\n%s", code, all)
				}
				if strings.Contains(all, "deadline exceeded") || !strings.Contains(all, "timed out after 1s") {
					t.Errorf("--auto %s does not say the collect command timed out:\n%s", output, all)
				}
				if output == "json" {
					var v any
					if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
						t.Errorf("--output json: %v\n%s", err, stdout.String())
					}
				}
				var m struct {
					Status  string `json:"status"`
					Entries []struct {
						Kind, Status, Error string
						TimedOut            bool `json:"timed_out"`
					} `json:"entries"`
				}
				if err := json.Unmarshal([]byte(bundleEntry(t, bdir, "manifest.json")), &m); err != nil {
					t.Fatal(err)
				}
				found := false
				for _, e := range m.Entries {
					if e.Kind == "command" {
						found = true
						if e.Status != "timeout" || e.Error != "timed out after 1s" || !e.TimedOut {
							t.Errorf("manifest entry: %+v", e)
						}
					}
				}
				if !found {
					t.Errorf("no command entry in the manifest: %+v", m.Entries)
				}
				tr := bundleEntry(t, bdir, "transcript.jsonl")
				timedOut := false
				for _, line := range strings.Split(strings.TrimSpace(tr), "\n") {
					var e struct {
						Type, Status, Error string
						TimedOut            bool `json:"timed_out"`
					}
					_ = json.Unmarshal([]byte(line), &e)
					if e.Type == "collect" {
						if e.Status != "timeout" || e.Error != "timed out after 1s" || !e.TimedOut {
							t.Errorf("transcript collect event: %s", line)
						}
						timedOut = true
					}
				}
				if !timedOut || strings.Contains(tr, "deadline exceeded") {
					t.Errorf("transcript:\n%s", tr)
				}
				rep := bundleEntry(t, bdir, "report.md")
				if !strings.Contains(rep, "timed out after 1s") || strings.Contains(rep, "deadline exceeded") {
					t.Errorf("report.md:\n%s", rep)
				}
			})
		}
	}
}
