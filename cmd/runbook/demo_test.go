package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adrg/xdg"

	"github.com/runbook-dev/runbook/internal/auto"
)

// isolateState points the session journal at a temporary directory, so
// in-process demo runs do not write into the developer's home.
func isolateState(t *testing.T) {
	t.Helper()
	t.Cleanup(xdg.Reload) // registered first: runs after the env is restored
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	xdg.Reload()
}

func TestDemoAutoDefaultRunbook(t *testing.T) {
	isolateState(t)
	var stdout, stderr bytes.Buffer
	code := mainRun([]string{"demo", "--auto"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("runbook demo --auto: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"mrs-alm-45641: resolved", "check-backup-space", "clear-backups", "alarm-cleared-9"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "simulated host fi-node-01 on ssh://127.0.0.1:") {
		t.Errorf("demo did not report its loopback SSH host:\n%s", stderr.String())
	}
}

// TestDemoEveryScenarioOverSSH walks every shipped scenario through the
// real SSH transport against the simulated fleet and compares the result
// with the scenario's golden path, outcome and exit code.
func TestDemoEveryScenarioOverSSH(t *testing.T) {
	isolateState(t)
	all, ids, err := demoable()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 6 {
		t.Fatalf("want the five seed runbooks and local-disk-health to be demoable, got %v", ids)
	}
	for _, id := range ids {
		for _, s := range all[id] {
			t.Run(id+"/"+s.Name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := mainRun([]string{"demo", id, "--scenario", s.Name, "--auto", "--output", "json", "--speed", "1000000"},
					strings.NewReader(""), &stdout, &stderr)
				var res auto.Result
				if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
					t.Fatalf("exit %d, result is not JSON: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
				}
				var path []string
				for _, p := range res.Path {
					path = append(path, p.Step)
				}
				if string(res.Outcome) != s.Expect.Outcome || !slices.Equal(path, s.Expect.Path) {
					t.Errorf("got %s %v\nwant %s %v\nerrors: %v\nstderr:\n%s", res.Outcome, path, s.Expect.Outcome, s.Expect.Path, res.Errors, stderr.String())
				}
				if want := res.Outcome.ExitCode(); code != want {
					t.Errorf("exit code %d, want %d for %s", code, want, res.Outcome)
				}
			})
		}
	}
}

func TestDemoList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := mainRun([]string{"demo", "--list"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"mrs-alm-45641  (default)", "backup-full", "flink-jobmanager-ha", "fsr-split-brain", "ecss10-cluster-split", "alluxio-k8s-health", "split-brain"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--list lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestDemoUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "no-such-runbook", "--auto"},
		{"demo", "--scenario", "no-such-scenario", "--auto"},
		{"demo", "--speed", "0", "--auto"},
	} {
		var stdout, stderr bytes.Buffer
		if code := mainRun(args, strings.NewReader(""), &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, code, stderr.String())
		}
	}
}

// The demo clock moves by the whole of each sleep while sleeping only a
// fraction of it, so wait steps see their declared intervals.
func TestScaledClockAdvancesBySleep(t *testing.T) {
	c := newScaledClock(1e9)
	before := c.Now()
	for range 10 {
		if err := c.Sleep(context.Background(), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Now().Sub(before); got < 10*time.Minute {
		t.Errorf("clock advanced %v after sleeping 10×1m, want at least 10m", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newScaledClock(1).Sleep(ctx, time.Hour); err == nil {
		t.Error("Sleep on a cancelled context returned nil")
	}
}

// A demo session that stopped part-way (here: its process died after the
// first step) resumes against the same simulated hosts and the scenario's
// declared answers, never against what the scenario's host names resolve
// to; `runbook sessions` says it is a demo.
func TestResumeDemoSessionUsesSimulatedHosts(t *testing.T) {
	isolateState(t)
	var stdout, stderr bytes.Buffer
	if code := mainRun([]string{"demo", "mrs-alm-45641", "--scenario", "network-fault", "--auto"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	journals, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_STATE_HOME"), "runbook", "sessions", "*.jsonl"))
	if len(journals) != 1 {
		t.Fatalf("journals: %v", journals)
	}
	// Cut the journal after the first step's exit: what kill -9 leaves.
	data, err := os.ReadFile(journals[0])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	cut := 0
	for i, l := range lines {
		if strings.Contains(l, `"type":"result"`) {
			cut = i + 1
			break
		}
	}
	if cut == 0 {
		t.Fatalf("no result in the journal:\n%s", data)
	}
	if err := os.WriteFile(journals[0], []byte(strings.Join(lines[:cut], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSuffix(filepath.Base(journals[0]), ".jsonl")

	stdout.Reset()
	stderr.Reset()
	if code := mainRun([]string{"sessions"}, strings.NewReader(""), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "demo: network-fault, simulated hosts") {
		t.Fatalf("sessions (exit %d) does not mark the demo:\n%s", code, stdout.String())
	}

	stdout.Reset()
	stderr.Reset()
	code := mainRun([]string{"resume", id, "--target", "active=root@10.0.0.5"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "is a demo") {
		t.Fatalf("rebinding a demo's targets: exit %d, %s", code, stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	code = mainRun([]string{"resume", id, "--auto"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "mrs-alm-45641: resolved") {
		t.Fatalf("resume exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}
