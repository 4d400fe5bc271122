package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// A runbook that needs a real remote host: who am I, does the marker file
// exist (param quoted through sh -c and the login shell), collect a log.
const sshWalkRunbook = `runbook: 1
id: ssh-walk
title: Walk a runbook over real SSH
targets:
  web: {description: the host under test}
params:
  marker: {type: string, description: file that must exist}
steps:
  - id: whoami
    title: Who runs the probes?
    run: {on: web, cmd: "id -un", timeout: 10s}
    capture: {user: '(\S+)'}
    branches:
      - {if: "exit == 0 && user != ''", goto: check-marker}
    else: escalate
  - id: check-marker
    title: Is the marker there?
    run: {on: web, cmd: "test -f {{ params.marker }} && cat {{ params.marker }}", timeout: 10s}
    branches:
      - {if: "exit == 0 && stdout contains 'ready'", goto: collect}
    else: escalate
  - id: collect
    title: Collect the logs
    collect:
      - {on: web, files: "LOGDIR/*.log", max_bytes: 1KiB}
      - {on: web, cmd: "uname -s"}
    next: resolved
  - id: resolved
    end: resolved
    message: The host answered over SSH.
  - id: escalate
    end: escalated
    message: Something is off.
`

func startSSHD(t *testing.T) *sshtest.OpenSSH {
	t.Helper()
	o, err := sshtest.StartOpenSSH(t.TempDir())
	if errors.Is(err, sshtest.ErrNoSSHD) {
		t.Skip("SKIP real OpenSSH test: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	t.Logf("real OpenSSH sshd running on %s", o.Addr())
	return o
}

func TestRunAutoOverRealSSHD(t *testing.T) {
	isolateState(t)
	o := startSSHD(t)
	dir := t.TempDir()
	rb := filepath.Join(dir, "walk.yaml")
	marker := filepath.Join(dir, "it's ready") // a quote and a space: quoting must hold
	os.WriteFile(marker, []byte("ready\n"), 0o644)
	logDir := filepath.Join(dir, "logs")
	os.MkdirAll(logDir, 0o755)
	var log strings.Builder
	for i := range 300 {
		fmt.Fprintf(&log, "2026-11-28 03:00:%02d INFO line %d\n", i%60, i)
	}
	log.WriteString("LAST LINE\n")
	os.WriteFile(filepath.Join(logDir, "app.log"), []byte(log.String()), 0o644)
	os.WriteFile(rb, []byte(strings.ReplaceAll(sshWalkRunbook, "LOGDIR", logDir)), 0o644)

	cfgFile := filepath.Join(dir, "ssh_config")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("Host webalias\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		o.Port, o.User, o.IdentityFile, o.KnownHosts)), 0o600)

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"user@host:port", []string{"--target", "web=" + o.Target(), "-i", o.IdentityFile, "--known-hosts", o.KnownHosts}},
		{"ssh_config alias", []string{"--target", "web=webalias", "-F", cfgFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundleDir := t.TempDir()
			args := append([]string{"run", rb, "--auto", "--param", "marker=" + marker, "--bundle", bundleDir}, tc.args...)
			var stdout, stderr bytes.Buffer
			code := mainRun(args, strings.NewReader(""), &stdout, &stderr)
			if code != 0 || !strings.Contains(stdout.String(), "ssh-walk: resolved") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			for _, step := range []string{"whoami", "check-marker", "collect", "resolved"} {
				if !strings.Contains(stdout.String(), step) {
					t.Errorf("path lacks %s:\n%s", step, stdout.String())
				}
			}
			// The collected log's tail made it into the bundle (1 KiB, less
			// the partial first line the bundle drops).
			if got := bundleEntry(t, bundleDir, "app.log.tailed"); !strings.HasSuffix(got, "INFO line 299\nLAST LINE\n") || len(got) > 1024 || len(got) < 900 {
				t.Errorf("bundle app.log: %d bytes, tail %q", len(got), got[max(0, len(got)-12):])
			}
		})
	}

	t.Run("strict refuses an unknown host", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		empty := filepath.Join(t.TempDir(), "known_hosts")
		code := mainRun([]string{"run", rb, "--auto", "--param", "marker=" + marker,
			"--target", "web=" + o.Target(), "-i", o.IdentityFile, "--known-hosts", empty}, strings.NewReader(""), &stdout, &stderr)
		all := stdout.String() + stderr.String()
		if code == 0 || !strings.Contains(all, "host key is not known") || !strings.Contains(all, "SHA256:") {
			t.Fatalf("exit %d, want a refusal showing the fingerprint:\n%s", code, all)
		}
	})

	t.Run("bad policy is a usage error", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := mainRun([]string{"run", rb, "--auto", "--target", "web=" + o.Target(), "--host-key-policy", "yolo"}, strings.NewReader(""), &stdout, &stderr)
		if code != 2 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	})
}

// bundleEntry returns the content of the first entry whose name ends in
// suffix in the one .tar.gz under dir.
func bundleEntry(t *testing.T, dir, suffix string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if len(m) != 1 {
		t.Fatalf("bundles in %s: %v", dir, m)
	}
	f, err := os.Open(m[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for range 10000 {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, suffix) {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
	t.Fatalf("no %s in bundle: %v", suffix, names)
	return ""
}
