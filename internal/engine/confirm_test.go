package engine_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const fixRunbook = `runbook: 1
id: f
title: f
targets: {nodes: {group: true}}
steps:
  - id: detect
    run: {on: nodes, cmd: "drbdadm status"}
    capture: {resource: 'resource=(\S+)'}
    branches:
      - {if: 'has(resource)', goto: clear}
    else: done
  - id: clear
    doc: Deletes one directory of the resource.
    fix:
      on: nodes
      cmd: 'rm -rf -- {{ input.dir }} && drbdadm connect {{ steps["detect"].resource }}'
      destructive: true
      input: {dir: {type: path, under: /srv, prompt: Directory to delete}}
    next: done
  - id: done
    end: resolved
`

func fixSession(t *testing.T, dry bool) (*engine.Session, *enginetest.Fake, *[]engine.Event) {
	t.Helper()
	rb := mustLoad(t, fixRunbook)
	fake := enginetest.New(
		enginetest.Rule{Match: `^drbdadm status$`, Stdout: "resource=r0 role=Secondary\n"},
		enginetest.Rule{Match: `^rm -rf`},
	)
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, DryRun: dry, OnEvent: func(e engine.Event) { evs = append(evs, e) },
		Targets: map[string][]engine.Host{"nodes": {{Role: "nodes", Name: "n1"}, {Role: "nodes", Name: "n2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return s, fake, &evs
}

// What the operator confirms is what the executor receives, per host: the
// fully rendered command once the inputs are entered.
func TestConfirmedCommandIsWhatRuns(t *testing.T) {
	s, fake, evs := fixSession(t, false)
	p, err := s.Advance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptConfirm {
		t.Fatalf("got %s, want confirm", p.Kind)
	}
	// Before the inputs: known values rendered, the input still a placeholder.
	if p.Command != "rm -rf -- {{ input.dir }} && drbdadm connect r0" {
		t.Errorf("prompt command %q: want known values rendered and the input as a placeholder", p.Command)
	}
	if len(p.Commands) != 0 {
		t.Errorf("per-host commands %v before the inputs are known", p.Commands)
	}
	if p.Inputs[0].Prompt != "Directory to delete" {
		t.Errorf("input prompt %q", p.Inputs[0].Prompt)
	}
	if _, err := s.RenderFix(map[string]string{"dir": "/etc"}); err == nil {
		t.Error("RenderFix accepted a path outside under:")
	}
	inputs := map[string]string{"dir": "/srv/backup dir"}
	shown, err := s.RenderFix(inputs)
	if err != nil {
		t.Fatal(err)
	}
	want := "rm -rf -- '/srv/backup dir' && drbdadm connect r0"
	if len(shown) != 2 || shown[0].Host.Name != "n1" || shown[1].Host.Name != "n2" || shown[0].Command != want {
		t.Fatalf("RenderFix %+v: want %q on n1 and n2", shown, want)
	}
	if err := s.Confirm(inputs, "operator"); err != nil {
		t.Fatal(err)
	}
	if p, err = s.Advance(context.Background()); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("after the fix: %v %v", p, err)
	}
	var ran []string
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Script, "rm ") {
			ran = append(ran, c.Host+" "+c.Script)
		}
	}
	sort.Strings(ran)
	var confirmed []string
	for _, h := range shown {
		confirmed = append(confirmed, h.Host.Name+" "+h.Command)
	}
	if strings.Join(ran, "\n") != strings.Join(confirmed, "\n") {
		t.Errorf("executor received\n%s\nbut the operator confirmed\n%s", strings.Join(ran, "\n"), strings.Join(confirmed, "\n"))
	}
	for _, e := range *evs {
		if e.Type == engine.EvConfirm && e.Command != want {
			t.Errorf("confirm event command %q, want %q", e.Command, want)
		}
	}
}

// A dry run says, for every fix it skips, the exact command on which host.
func TestDryRunShowsSkippedFixPerHost(t *testing.T) {
	s, fake, evs := fixSession(t, true)
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptConfirm {
		t.Fatalf("%v %v", p, err)
	}
	if err := s.Confirm(map[string]string{"dir": "/srv/old"}, "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fake.Ran(`^rm `) {
		t.Fatal("a dry run ran the fix")
	}
	var got []string
	for _, e := range *evs {
		if e.Type == engine.EvSimulated {
			got = append(got, e.Host+": "+e.Command)
		}
	}
	want := []string{"n1: rm -rf -- /srv/old && drbdadm connect r0", "n2: rm -rf -- /srv/old && drbdadm connect r0"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("simulated events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
