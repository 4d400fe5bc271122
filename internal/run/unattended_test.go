package run

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
)

// TestTextResultShowsPathGroups: --auto's text result names every group of
// hosts with its path, and marks a section it stopped inside; host names
// from the inventory are sanitised like every other text.
func TestTextResultShowsPathGroups(t *testing.T) {
	exit := 0
	paths := []engine.HostPath{
		{Host: "h1", Steps: []engine.PathStep{{Step: "ping", Exit: &exit, Next: "core"}, {Step: "core", Next: "summary"}}},
		{Host: "h2\x1b[31m", Steps: []engine.PathStep{{Step: "ping", Next: "cable"}, {Step: "cable", Answer: "no", Next: "summary"}}},
	}
	rb := &engine.Runbook{ID: "r"}
	res := &auto.Result{Runbook: "r", Outcome: auto.NeedsHuman, Divergence: []engine.SectionPaths{{
		Step: "ping", Join: "summary", Paths: paths, Groups: engine.GroupPaths(rb, paths), Line: engine.Divergence(rb, paths), Open: true}}}
	var b strings.Builder
	printResult(&b, res)
	out := b.String()
	for _, want := range []string{
		"per-host paths from ping to summary (still apart: the run stopped inside): 1 host → core · 1 host → cable answered \"no\": h2",
		"  1 × ping → core: h1",
		"  1 × ping → cable=no: h2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text result lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape reached the terminal: %q", out)
	}
}

// TestTextResultQuestionOverHosts: a question asked once for several hosts
// of a per-host section holds one paragraph per host; --auto prints each
// line on its own, indented (not as one line with literal \n), and still
// sanitised.
func TestTextResultQuestionOverHosts(t *testing.T) {
	res := &auto.Result{Runbook: "r", Outcome: auto.NeedsHuman, Stopped: &auto.Stop{Step: "choose-restart", Kind: "ask",
		Question: "ecss1: its table shows split: ds1@ecss1.\n\necss2: its table shows split: ds1@ecss2\x1b[31m.", Reason: "auto: stop"}}
	var b strings.Builder
	printResult(&b, res)
	out := b.String()
	want := "needs a human at choose-restart: ecss1: its table shows split: ds1@ecss1.\n\n  ecss2: its table shows split: ds1@ecss2"
	if !strings.Contains(out, want) {
		t.Errorf("text result lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, `\n`) || strings.Contains(out, "\x1b") {
		t.Errorf("a literal \\n or an escape in the text result: %q", out)
	}
}
