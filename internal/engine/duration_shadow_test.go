package engine_test

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// In a run step's branches `duration` is the step's run time (a number),
// which hides expr's duration(): lint says so and names the way out, and
// parseDuration works there at run time.
func TestDurationInBranchesSaysParseDuration(t *testing.T) {
	src := func(cond string) string {
		return `runbook: 1
id: d
title: D
targets: {host: {description: H}}
steps:
  - id: probe
    run: {on: host, cmd: "date"}
    branches:
      - {if: '` + cond + `', goto: done}
    else: other
  - id: done
    end: resolved
  - id: other
    end: escalated
`
	}
	rb, err := engine.Load("d.yaml", []byte(src(`duration("10m") > duration("5m")`)))
	if err != nil {
		t.Fatal(err)
	}
	ds := engine.Lint(rb)
	var all []string
	for _, d := range ds {
		all = append(all, d.String())
	}
	got := strings.Join(all, "\n")
	if !ds.HasErrors() || !strings.Contains(got, `parseDuration("10m")`) || !strings.Contains(got, "d.yaml:9:") {
		t.Errorf("lint: %s", got)
	}
	rb = mustLoad(t, src(`parseDuration("10m") > parseDuration("5m") && parseDuration("2d") > parseDuration("47h")`))
	if p := advanceOnce(t, rb, enginetest.Rule{Match: "^date$", Stdout: "now\n"}); p.Kind != engine.PromptEnd || p.Step.ID != "done" {
		t.Errorf("parseDuration in a branch: %s at %s %v", p.Kind, p.Step.ID, p.Err)
	}
}
