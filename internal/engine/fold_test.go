package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const forEachRunbook = `runbook: 1
id: slow-disk
title: Slow disk
targets:
  node: {description: the data node}
steps:
  - id: slots
    run: {on: node, cmd: "storcli64 /c0 /eall /sall show"}
    capture:
      slots: {pattern: '(?m)^252:(\d+) ', all: true}
    next: smart
  - id: smart
    for_each: steps.slots.slots
    as: slot
    run: {on: node, cmd: "smartctl -H -d megaraid,{{ slot }} /dev/sda"}
    capture: {health: 'result: (\w+)'}
    branches:
      - if: all(results, .health == "PASSED")
        goto: healthy
    else: replace
  - id: replace
    manual: "Replace the disk in slot {{ join(map(filter(steps.smart.results, .health != 'PASSED'), string(.item)), ', ') }}."
    next: healthy
  - id: healthy
    end: resolved
`

// A for_each step's visit holds one command line per item and every
// item's result, live and after a resume alike, and what later steps say
// about the items is the same after a resume.
func TestForEachVisitSurvivesResume(t *testing.T) {
	rb, ds := engine.Check("slow.yaml", []byte(forEachRunbook))
	if rb == nil || len(ds) > 0 {
		t.Fatalf("lint:\n%v", ds)
	}
	fake := func() *enginetest.Fake {
		return enginetest.New(
			enginetest.Rule{Match: `^storcli64 `, Stdout: "EID:Slt DID State\n252:0 8 Onln\n252:3 9 Onln\n252:7 10 Onln\n"},
			enginetest.Rule{Match: `^smartctl -H -d megaraid,3 /dev/sda$`, Stdout: "SMART overall-health self-assessment test result: FAILED!\n"},
			enginetest.Rule{Match: `^smartctl -H -d megaraid,[07] /dev/sda$`, Stdout: "SMART overall-health self-assessment test result: PASSED\n"},
		)
	}
	opts := func(evs *[]engine.Event) engine.Options {
		return engine.Options{Executor: fake(), Targets: map[string][]engine.Host{"node": {{Role: "node", Name: "dn-4"}}},
			OnEvent: func(e engine.Event) { *evs = append(*evs, e) }}
	}
	var evs []engine.Event
	s, err := engine.NewSession(rb, opts(&evs))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptManual || p.Text != "Replace the disk in slot 3." {
		t.Fatalf("live: %+v, %v", p, err)
	}
	check := func(who string, s *engine.Session) {
		t.Helper()
		v, ok := s.State().Last("smart")
		if !ok {
			t.Fatalf("%s: smart not visited", who)
		}
		if want := "smartctl -H -d megaraid,0 /dev/sda\nsmartctl -H -d megaraid,3 /dev/sda\nsmartctl -H -d megaraid,7 /dev/sda"; v.Command != want {
			t.Errorf("%s: command %q", who, v.Command)
		}
		var health []string
		for _, r := range v.Results {
			health = append(health, r.Captures["health"])
		}
		if got := strings.Join(health, " "); got != "PASSED FAILED PASSED" {
			t.Errorf("%s: results %q", who, got)
		}
	}
	check("live", s)
	// Through JSON, as the journal keeps them.
	journaled := make([]engine.Event, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &journaled[i]); err != nil {
			t.Fatal(err)
		}
	}
	var more []engine.Event
	r, err := engine.Restore(rb, opts(&more), journaled)
	if err != nil {
		t.Fatal(err)
	}
	check("restored", r)
	p, err = r.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptManual || p.Text != "Replace the disk in slot 3." {
		t.Fatalf("restored: %+v, %v", p, err)
	}
}
