package scenario_test

import (
	"context"
	"slices"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

const coverRunbook = `runbook: 1
id: cover
title: Coverage
targets:
  h: {description: the host}
steps:
  - id: probe
    run: {on: h, cmd: "probe"}
    branches:
      - {if: exit == 0, goto: ask}
      - {if: exit == 1, goto: ask}
    else: bad
    on_error: bad
  - id: ask
    ask: Go on?
    auto: stop
    choices: {"yes": ok, "no": bad}
  - id: ok
    end: resolved
  - id: bad
    end: escalated
`

// TestCoverageCountsEachDeclaredEdge: two branches to the same step are two
// edges; the one that held is taken, the other is listed with its position.
func TestCoverageCountsEachDeclaredEdge(t *testing.T) {
	rb, err := engine.Load("cover.yaml", []byte(coverRunbook))
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load("s.yaml", []byte(`scenario: second-branch
runbook: cover
targets: {h: web}
answers: {ask: "yes"}
expect: {outcome: resolved, path: [probe, ask, ok]}
hosts:
  web:
    commands:
      - {match: '^probe$', exit: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.RunCheck(context.Background(), rb, "s.yaml", s)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Passed() {
		t.Fatalf("failures: %v", c.Failures)
	}
	cov := scenario.NewCoverage(rb)
	cov.Add(c.Decisions)
	taken, total := cov.Counts()
	if taken != 2 || total != 6 {
		t.Errorf("counts %d/%d, want 2/6", taken, total)
	}
	var missed []string
	for _, e := range cov.Missed() {
		missed = append(missed, e.Describe())
	}
	want := []string{
		`cover.yaml:10:31: probe --if exit == 0--> ask`,
		`cover.yaml:12:11: probe --else--> bad`,
		`cover.yaml:13:15: probe --on_error--> bad`,
		`cover.yaml:17:32: ask --"no"--> bad`,
	}
	if !slices.Equal(missed, want) {
		t.Errorf("missed:\n%q\nwant:\n%q", missed, want)
	}
}
