package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAutoExampleScript runs scripts/auto-example.sh (the example in
// docs/automation.md) against the shipped local-disk-health runbook, on
// each of the outcomes it acts on. Without jq it checks, in Go, the JSON
// fields the script reads.
func TestAutoExampleScript(t *testing.T) {
	bin := buildRunbook(t)
	dir := t.TempDir()
	mount := filepath.Join(dir, "mnt")
	if err := os.MkdirAll(mount, 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../scripts/auto-example.sh")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RUNBOOK="+bin, "XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	cases := []struct {
		name string
		args []string
		code int
		want []string // script output (with jq)
		json map[string]string
	}{
		{"resolved", []string{"--param", "mount=" + mount, "--param", "limit=100"}, 0,
			[]string{"OK: Space and inodes are within limits."},
			map[string]string{"outcome": "resolved"}},
		{"escalated", []string{"--param", "mount=" + mount, "--param", "limit=1"}, 3,
			[]string{"TICKET: Disk space and inode check on this machine escalated (session ", "  3 largest: exit 0: next → 4 Can you free space yourself?", mount},
			map[string]string{"outcome": "escalated"}},
		{"needs-human", []string{"--param", "mount=" + mount, "--param", "limit=1", "--answer", "ask-cleanup=yes"}, 4,
			[]string{"PAGE: needs a human at cleanup: Delete or compress", "--assume-done cleanup", "continue with: runbook resume "},
			map[string]string{"outcome": "needs-human", "stopped.step": "cleanup"}},
	}
	_, jqErr := exec.LookPath("jq")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c *exec.Cmd
			if jqErr == nil {
				c = exec.Command("sh", append([]string{script}, tc.args...)...)
			} else {
				c = exec.Command(bin, append([]string{"run", "local-disk-health", "--target", "host=local", "--auto", "--output", "json"}, tc.args...)...)
			}
			c.Dir, c.Env = dir, env
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			_ = c.Run()
			if code := c.ProcessState.ExitCode(); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			if jqErr == nil {
				for _, w := range tc.want {
					if !strings.Contains(stdout.String(), w) {
						t.Errorf("script output lacks %q:\n%s", w, stdout.String())
					}
				}
				return
			}
			var v any
			if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.json {
				if got, err := jsonPath(v, path); err != nil || got != want {
					t.Errorf("%s = %q (%v), want %q", path, got, err, want)
				}
			}
			for _, path := range []string{"session", "title", "path.0.step", "path.0.decision.explain"} {
				if got, _ := jsonPath(v, path); got == "<missing>" || got == "" {
					t.Errorf("the script reads %s, which is missing", path)
				}
			}
		})
	}
}
