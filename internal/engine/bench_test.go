package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// bigRunbook generates a runbook of n steps in groups of five: a probe with
// captures, templates and branches, an ask, a fix with an input, a wait and
// a manual step, each group leading to the next; the last leads to the ends.
func bigRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString(`runbook: 1
id: big
title: Generated runbook for the load+lint benchmark
targets:
  active: {description: active node}
  nodes: {description: all nodes, group: true}
params:
  dir: {type: path, default: /srv/data}
  limit: {type: int, default: "90", min: 1, max: 100}
  ip: {type: ip, default: 10.0.0.1}
steps:
`)
	groups := n / 5
	next := func(g int) string {
		if g+1 >= groups {
			return "resolved"
		}
		return fmt.Sprintf("probe-%d", g+1)
	}
	for g := range groups {
		fmt.Fprintf(&b, `  - id: probe-%[1]d
    ref: "%[1]d"
    title: Probe %[1]d
    run: {on: active, cmd: "df -P {{ params.dir }}/%[1]d && ping -c 1 {{ params.ip }}", timeout: 20s}
    capture: {used: '(\d+)%%', host: 'on (\S+)'}
    branches:
      - {if: "exit == 0 && int(used) >= params.limit", goto: fix-%[1]d}
      - {if: "exit != 0 && stdout contains 'No such'", goto: escalate}
    else: ask-%[1]d
    on_error: escalate
  - id: ask-%[1]d
    ask: Is node %[1]d healthy?
    choices: {"yes": %[2]s, "no": wait-%[1]d}
    auto: "no"
  - id: fix-%[1]d
    doc: Deletes old data under the directory.
    fix:
      on: active
      cmd: "rm -rf -- {{ input.old }} && echo {{ steps[\"probe-%[1]d\"].used }}"
      destructive: true
      input: {old: {type: path, under: /srv/data}}
    next: wait-%[1]d
  - id: wait-%[1]d
    wait: {every: 10s, timeout: 1m, run: {on: nodes, cmd: "status {{ params.dir }}"}, until: "all(results, .exit == 0)"}
    branches:
      - {if: "satisfied && answers[\"ask-%[1]d\"] != 'yes'", goto: manual-%[1]d}
    else: escalate
  - id: manual-%[1]d
    manual: Check node %[1]d by hand.
    next: %[2]s
`, g, next(g))
	}
	b.WriteString(`  - id: resolved
    end: resolved
  - id: escalate
    end: escalated
`)
	return []byte(b.String())
}

// BenchmarkLoadLint500 measures Load + Lint of a 500-step runbook (target:
// under 50 ms). Recorded in docs/benchmarks.md.
func BenchmarkLoadLint500(b *testing.B) {
	data := bigRunbook(500)
	rb, err := engine.Load("big.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	if got := len(rb.Steps); got != 502 {
		b.Fatalf("generated %d steps", got)
	}
	if ds := engine.Lint(rb); len(ds) > 0 {
		b.Fatalf("generated runbook is not clean:\n%v", ds)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rb, err := engine.Load("big.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if ds := engine.Lint(rb); len(ds) > 0 {
			b.Fatal(ds)
		}
	}
}

// BenchmarkCheck500 is the same through Check, the path `runbook lint` takes.
func BenchmarkCheck500(b *testing.B) {
	data := bigRunbook(500)
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := engine.Check("big.yaml", data); len(ds) > 0 {
			b.Fatal(ds)
		}
	}
}

// BenchmarkLoad500 isolates the loader (YAML parse + decode) from lint.
func BenchmarkLoad500(b *testing.B) {
	data := bigRunbook(500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.Load("big.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
