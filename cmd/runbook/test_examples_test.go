package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestExamplesFullCoverage: the runbooks under examples/ pass their
// scenarios with every edge taken (issue 15, done-when), through the CLI.
func TestExamplesFullCoverage(t *testing.T) {
	var out, errb bytes.Buffer
	code := mainRun([]string{"test", "../../examples", "--min-coverage", "100"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("runbook test examples --min-coverage 100: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "(100.0%)") {
		t.Errorf("no full coverage line:\n%s", out.String())
	}
}

// TestShippedScenariosPass: every shipped scenario passes under runbook test.
func TestShippedScenariosPass(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainRun([]string{"test", "../../runbooks"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("runbook test runbooks: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
