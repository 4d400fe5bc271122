package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const explainRunbook = `runbook: 1
id: x
title: x
targets: {db: {}}
params:
  limit: {type: int, default: 90}
  token: {secret: true, default: s3cr3t-tok}
steps:
  - id: disk
    run: {on: db, cmd: "df -P /var/lib/pgsql"}
    capture: {used: '(\d+)%', who: 'owner=(\S+)'}
    branches:
      - {if: "int(used) >= 98", goto: full}
      - {if: "int(used) >= params.limit && who == 'postgres'", goto: high}
    else: ok
  - {id: full, end: escalated}
  - {id: high, end: resolved}
  - {id: ok, end: resolved}
`

// The decision event carries every test it made, in order, with the values
// each read; a resumed session gets them back from the journal.
func TestDecisionChecksCarryTheValuesRead(t *testing.T) {
	rb := mustLoad(t, explainRunbook)
	fake := enginetest.New(enginetest.Rule{Match: "^df ", Stdout: "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sdb1        103081248  95842460   7238788      93% /var/lib/pgsql\nowner=postgres token=s3cr3t-tok\n"})
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("db"), OnEvent: func(e engine.Event) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(context.Background()); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("got %+v, %v", p, err)
	}
	var dec *engine.Event
	for i := range evs {
		if evs[i].Type == engine.EvDecision {
			dec = &evs[i]
		}
	}
	if dec == nil || dec.Next != "high" {
		t.Fatalf("decision: %+v", dec)
	}
	got := checksText(dec.Checks)
	want := "int(used) >= 98 false [used=\"93\"]; int(used) >= params.limit && who == 'postgres' true [used=\"93\" params.limit=90 who=\"postgres\"]"
	if got != want {
		t.Errorf("checks:\n got %s\nwant %s", got, want)
	}

	// Through JSON (the journal) and back: a restored session has them.
	raw, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var back []engine.Event
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	r, err := engine.Restore(rb, engine.Options{Executor: enginetest.New(), Targets: local("db")}, back)
	if err != nil {
		t.Fatal(err)
	}
	h := r.History()
	if len(h) == 0 || h[0].Decision == nil || checksText(h[0].Decision.Checks) != want {
		t.Errorf("restored visit lost the checks: %+v", h)
	}
	// An old journal (no checks) still restores, with none.
	for i := range back {
		back[i].Checks = nil
	}
	if r, err = engine.Restore(rb, engine.Options{Executor: enginetest.New(), Targets: local("db")}, back); err != nil || r.History()[0].Decision.Checks != nil {
		t.Errorf("old journal: %v", err)
	}
}

// A value that holds a secret param is masked in the checks.
func TestDecisionChecksMaskSecrets(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: x
title: x
targets: {db: {}}
params:
  token: {secret: true}
steps:
  - id: auth
    run: {on: db, cmd: "cat /etc/app/token"}
    capture: {tok: 'token=(\S+)'}
    branches:
      - {if: "params.token != '' && has(tok)", goto: same}
    else: other
  - {id: same, end: resolved}
  - {id: other, end: resolved}
`)
	fake := enginetest.New(enginetest.Rule{Match: "^cat ", Stdout: "token=hunter2-xyz\n"})
	var all strings.Builder
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("db"), Params: map[string]string{"token": "hunter2-xyz"},
		OnEvent: func(e engine.Event) { all.WriteString(checksText(e.Checks)) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all.String(), "params.token != '' && has(tok) true") {
		t.Fatalf("no checks: %q", all.String())
	}
	if strings.Contains(all.String(), "hunter2") || checksText(s.History()[0].Decision.Checks) != all.String() {
		t.Errorf("secret in checks: %q / %q", all.String(), checksText(s.History()[0].Decision.Checks))
	}
}

func checksText(cs []engine.DecisionCheck) string {
	var parts []string
	for _, c := range cs {
		var vals []string
		for _, v := range c.Values {
			vals = append(vals, v.Name+"="+v.Value)
		}
		held := "false"
		if c.Held {
			held = "true"
		}
		parts = append(parts, c.Expr+" "+held+" ["+strings.Join(vals, " ")+"]")
	}
	return strings.Join(parts, "; ")
}

// A predicate over a group's results reads each host's field: the checks
// show them per host.
func TestDecisionChecksShowPerHostFields(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: x
title: x
targets: {nodes: {group: true}}
steps:
  - id: smart
    run: {on: nodes, cmd: "smartctl -H /dev/sdb"}
    capture: {health: 'overall-health self-assessment test result: (\w+)'}
    branches:
      - {if: "any(results, {.health == 'FAILED'})", goto: bad}
    else: good
  - {id: bad, end: escalated}
  - {id: good, end: resolved}
`)
	fake := enginetest.New(
		enginetest.Rule{Host: "node2", Match: "^smartctl ", Stdout: "=== START OF READ SMART DATA SECTION ===\nSMART overall-health self-assessment test result: PASSED\n"},
		enginetest.Rule{Host: "node3", Match: "^smartctl ", Stdout: "=== START OF READ SMART DATA SECTION ===\nSMART overall-health self-assessment test result: FAILED!\n", Exit: 8},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: map[string][]engine.Host{"nodes": {{Role: "nodes", Name: "node2"}, {Role: "nodes", Name: "node3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := checksText(s.History()[0].Decision.Checks)
	want := `any(results, {.health == 'FAILED'}) true [results[node2].health="PASSED" results[node3].health="FAILED"]`
	if got != want {
		t.Errorf("checks:\n got %s\nwant %s", got, want)
	}
}

// A nested predicate reads the fields of another list's elements
// (any(.sb, {.resource == ...})): they are not fields of the hosts'
// results, and explain must not show them as results[host].resource
// "<no value>" as if a capture had failed.
func TestDecisionChecksLeaveNestedPredicatesOut(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: x
title: x
targets: {nodes: {group: true}}
steps:
  - id: sb
    run: {on: nodes, cmd: "grep split-brain /var/log/fsr/fsr.log"}
    capture:
      sb: {pattern: 'resource=(?P<resource>\S+)', all: true}
    branches:
      - {if: "exit == 0 && any(results, {any(.sb, {.resource == 'r0'})})", goto: bad}
    else: good
  - {id: bad, end: escalated}
  - {id: good, end: resolved}
`)
	fake := enginetest.New(
		enginetest.Rule{Host: "node2", Match: "^grep ", Stdout: "ERR establishing error=split-brain resource=r0\n"},
		enginetest.Rule{Host: "node3", Match: "^grep ", Stdout: "ERR establishing error=split-brain resource=r1\n"},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: map[string][]engine.Host{"nodes": {{Role: "nodes", Name: "node2"}, {Role: "nodes", Name: "node3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := checksText(s.History()[0].Decision.Checks)
	if strings.Contains(got, "results[node2].resource") || strings.Contains(got, "results[node3].resource") {
		t.Errorf("a nested predicate's field is shown as the hosts' own: %s", got)
	}
	if !strings.Contains(got, "true") {
		t.Errorf("checks: %s", got)
	}
}
