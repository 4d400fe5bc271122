package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adrg/xdg"

	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

// hostileRunbook is a runbook from a shared repository whose every text
// field carries one hostile string (YAML escapes, so the file itself is
// plain ASCII).
func hostileRunbook(evil string) string {
	q := hostile.YAML(evil)
	return `runbook: 1
id: evil
title: ` + q + `
source: ` + q + `
description: ` + q + `
targets:
  host: {description: ` + q + `}
params:
  p: {type: string, description: ` + q + `, default: ` + q + `}
steps:
  - id: check
    ref: ` + q + `
    title: ` + q + `
    ask: ` + q + `
    choices: {"yes": done, "no": done}
    auto: '"yes"'
  - id: done
    title: ` + q + `
    end: resolved
`
}

// show, graph (text, mermaid, dot), list and lint print runbook text: with
// the shared hostile corpus in every field, nothing reaches the terminal
// that could move the cursor, set the clipboard or title, or reorder text.
func TestCLISurfacesHostileCorpus(t *testing.T) {
	isolateState(t)
	userDir := filepath.Join(xdg.ConfigHome, "runbook", "runbooks")
	if err := os.MkdirAll(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range hostile.Corpus {
		t.Run(c.Name, func(t *testing.T) {
			file := filepath.Join(userDir, "evil.yaml")
			if err := os.WriteFile(file, []byte(hostileRunbook(c.Text)), 0o644); err != nil {
				t.Fatal(err)
			}
			// A misspelt key the lint message quotes, and an error path
			// (main's error print) quoting the file.
			bad := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(bad, []byte(strings.Replace(hostileRunbook(c.Text), "    end: resolved", "    end: resolved\n    "+hostile.YAML("x"+c.Text)+": 1", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"show", file},
				{"graph", file},
				{"graph", "--format", "mermaid", file},
				{"graph", "--format", "dot", file},
				{"list"},
				{"lint", file},
				{"lint", bad},
				{"lint", "--format", "json", bad},
				{"show", bad},
			} {
				var stdout, stderr strings.Builder
				mainRun(args, strings.NewReader(""), &stdout, &stderr)
				if args[0] == "list" && !strings.Contains(stdout.String(), "evil") {
					t.Fatalf("list does not show the runbook:\n%s%s", stdout.String(), stderr.String())
				}
				hostile.Check(t, strings.Join(args[:len(args)-1], " ")+" stdout", stdout.String())
				hostile.Check(t, strings.Join(args[:len(args)-1], " ")+" stderr", stderr.String())
			}
		})
	}
}

// `run --auto --output json|jsonl` and the stderr progress, with a probe
// whose output, and a runbook whose text, carry the hostile corpus.
func TestRunOutputHostileCorpus(t *testing.T) {
	isolateState(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "evil.txt"), []byte(hostile.All()), 0o644); err != nil {
		t.Fatal(err)
	}
	q := hostile.YAML(hostile.OneLine())
	rb := `runbook: 1
id: evil
title: ` + q + `
targets:
  host: {description: ` + q + `}
steps:
  - id: probe
    title: ` + q + `
    run: {on: host, cmd: "cat ` + filepath.Join(dir, "evil.txt") + `"}
    capture: {line: '(?s)(.*)'}
    next: done
  - id: done
    end: resolved
    message: ` + q + `
`
	file := filepath.Join(dir, "evil.yaml")
	if err := os.WriteFile(file, []byte(rb), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, output := range []string{"json", "jsonl"} {
		var stdout, stderr strings.Builder
		code := mainRun([]string{"run", file, "--target", "host=local", "--auto", "--output", output}, strings.NewReader(""), &stdout, &stderr)
		if code != 0 || !strings.Contains(stdout.String(), "PASSED") {
			t.Fatalf("--output %s: exit %d\n%s\n%s", output, code, stdout.String(), stderr.String())
		}
		hostile.Check(t, "--output "+output+" stdout", stdout.String())
		hostile.Check(t, "--output "+output+" stderr", stderr.String())
	}
}
