package run

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/journal"
)

const statusSrc = `runbook: 1
id: group-status
title: Is ecss-core active on every node?
targets:
  nodes: {group: true}
steps:
  - id: status
    run: {on: nodes, cmd: "systemctl is-active ecss-core"}
    branches:
      - if: all(results, trim(.stdout) == "active")
        goto: done
    else: escalate
  - id: done
    end: resolved
  - id: escalate
    end: escalated
`

// TestResumeOnlyFailedThroughTheLifecycle: an unattended run stops at
// ecss2's connection reset; `resume --only-failed` (Resume.OnlyFailed)
// sends the probe to ecss2 alone and resolves over all three hosts.
func TestResumeOnlyFailedThroughTheLifecycle(t *testing.T) {
	rb, err := engine.Load("group-status.yaml", []byte(statusSrc))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string][]engine.Host{"nodes": {{Role: "nodes", Name: "ecss1"}, {Role: "nodes", Name: "ecss2"}, {Role: "nodes", Name: "ecss3"}}}
	dir := t.TempDir()
	first := enginetest.New(
		enginetest.Rule{Host: "ecss2", Match: `^systemctl`, Err: errors.New("read tcp 127.0.0.1:50123: connection reset by peer")},
		enginetest.Rule{Match: `^systemctl`, Stdout: "active\n"},
	)
	var out, stderr bytes.Buffer
	err = Run(context.Background(), Options{Runbook: rb, Targets: targets, Remote: first, Stdout: &out, Stderr: &stderr,
		Journal: JournalOptions{Dir: dir}, Bundle: BundleOptions{NoClockSkew: true}})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != auto.ExitNeedsHuman {
		t.Fatalf("first run: %v\n%s%s", err, out.String(), stderr.String())
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(paths) != 1 {
		t.Fatalf("journals: %v", paths)
	}
	h, evs, err := journal.Read(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	again := enginetest.New(enginetest.Rule{Match: `^systemctl`, Stdout: "active\n"})
	out.Reset()
	err = Run(context.Background(), Options{Runbook: rb, Targets: targets, Remote: again, Stdout: &out, Stderr: &stderr,
		Journal: JournalOptions{Dir: dir, Resume: &Resume{Path: paths[0], Header: h, Events: evs, OnlyFailed: true}},
		Bundle:  BundleOptions{NoClockSkew: true}})
	if err != nil {
		t.Fatalf("resume: %v\n%s%s", err, out.String(), stderr.String())
	}
	var hosts []string
	for _, c := range again.Calls() {
		hosts = append(hosts, c.Host)
	}
	if strings.Join(hosts, ",") != "ecss2" {
		t.Errorf("the resumed probe went to %v, want ecss2 alone", hosts)
	}
	if !strings.Contains(out.String(), "group-status: resolved") {
		t.Errorf("result:\n%s", out.String())
	}
}
