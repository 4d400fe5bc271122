package runbooks_test

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
	"github.com/runbook-dev/runbook/runbooks"
)

// shipped loads every shipped runbook, by id.
func shipped(t *testing.T) map[string]*engine.Runbook {
	t.Helper()
	names, err := fs.Glob(runbooks.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*engine.Runbook{}
	for _, n := range names {
		data, err := fs.ReadFile(runbooks.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := engine.Load(n, data)
		if err != nil {
			t.Fatalf("load %s: %v", n, err)
		}
		if out[rb.ID] != nil {
			t.Fatalf("%s: duplicate runbook id %q", n, rb.ID)
		}
		out[rb.ID] = rb
	}
	return out
}

type scenarioFile struct {
	file string
	s    *scenario.Scenario
}

// scenarios loads every shipped scenario, by runbook id (the directory name).
func scenarios(t *testing.T) map[string][]scenarioFile {
	t.Helper()
	names, err := fs.Glob(runbooks.FS, "scenarios/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]scenarioFile{}
	for _, n := range names {
		data, err := fs.ReadFile(runbooks.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := scenario.Load(n, data)
		if err != nil {
			t.Fatalf("load %s: %v", n, err)
		}
		dir := path.Base(path.Dir(n))
		if s.Runbook != dir {
			t.Errorf("%s: scenario names runbook %q but lives under scenarios/%s", n, s.Runbook, dir)
		}
		out[dir] = append(out[dir], scenarioFile{file: n, s: s})
	}
	return out
}

// runScenario walks rb against the simulated hosts of s, unattended, with
// the policy the scenario declares.
func runScenario(t *testing.T, rb *engine.Runbook, s *scenario.Scenario) *auto.Result {
	t.Helper()
	clock := engine.NewSteppedClock(scenarioStart(s))
	ex := scenario.NewExecutor(s)
	ex.Now = clock.Now
	var progress strings.Builder
	pr := auto.NewProgress(&progress, rb)
	sess, err := engine.NewSession(rb, engine.Options{
		Executor: ex,
		Targets:  s.Bindings(),
		Params:   s.Params,
		Clock:    clock,
		OnEvent:  pr.Event,
	})
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	pol := auto.Policy{Answers: s.Answers, AllowFix: s.AllowFix, AllowDestructive: s.AllowDestr,
		AssumeDone: map[string]bool{}, Inputs: s.Inputs}
	for _, id := range s.AssumeDone {
		pol.AssumeDone[id] = true
	}
	res := auto.Run(context.Background(), sess, pol)
	if testing.Verbose() {
		t.Logf("%s progress:\n%s", s.Name, progress.String())
	}
	return res
}

// scenarioStart is when the scenario's session starts: its `clock:`, as
// `runbook test` and `runbook demo` use it, or the default.
func scenarioStart(s *scenario.Scenario) time.Time {
	if !s.Clock.IsZero() {
		return s.Clock
	}
	return time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
}

func pathOf(res *auto.Result) []string {
	out := make([]string, len(res.Path))
	for i, p := range res.Path {
		out[i] = p.Step
	}
	return out
}

// TestScenarios runs every scenario unattended and compares the path and
// outcome with the scenario's `expect` (the golden result).
func TestScenarios(t *testing.T) {
	rbs := shipped(t)
	for id, list := range scenarios(t) {
		rb := rbs[id]
		if rb == nil {
			t.Errorf("scenarios/%s: no shipped runbook with that id", id)
			continue
		}
		for _, sf := range list {
			t.Run(id+"/"+sf.s.Name, func(t *testing.T) {
				if sf.s.Expect.Outcome == "" || len(sf.s.Expect.Path) == 0 {
					t.Fatalf("%s: scenario declares no expect.outcome / expect.path", sf.file)
				}
				res := runScenario(t, rb, sf.s)
				got := pathOf(res)
				if string(res.Outcome) != sf.s.Expect.Outcome || !slices.Equal(got, sf.s.Expect.Path) {
					t.Errorf("%s:\n got outcome %s, path %v\nwant outcome %s, path %v\nerrors: %v\nstopped: %+v",
						sf.file, res.Outcome, got, sf.s.Expect.Outcome, sf.s.Expect.Path, res.Errors, res.Stopped)
				}
				for _, p := range res.Path {
					for _, r := range p.Results {
						if r.Exit == 127 && strings.Contains(r.Stderr, "has no answer for") {
							t.Errorf("%s: step %s: simulated host %s has no answer: %s", sf.file, p.Step, r.Host, r.Stderr)
						}
					}
				}
			})
		}
	}
}

// TestCoverage fails when a step of a shipped runbook is visited by no
// scenario, or an end step is reached by none.
func TestCoverage(t *testing.T) {
	rbs := shipped(t)
	all := scenarios(t)
	for id, rb := range rbs {
		// Coverage counts the steps actually walked, not what the scenarios
		// claim, so a wrong `expect` cannot hide an unvisited step.
		visited := map[string]bool{}
		for _, sf := range all[id] {
			res := runScenario(t, rb, sf.s)
			for _, st := range pathOf(res) {
				visited[st] = true
			}
			// Inside a per-host section each host walks its own steps.
			for _, d := range res.Divergence {
				for _, hp := range d.Paths {
					for _, ps := range hp.Steps {
						visited[ps.Step] = true
					}
				}
			}
		}
		var missing []string
		for _, st := range rb.Steps {
			if !visited[st.ID] {
				kind := string(st.Kind)
				if st.Kind == engine.KindEnd {
					kind = "end " + string(st.End)
				}
				missing = append(missing, fmt.Sprintf("%s (%s)", st.ID, kind))
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: %d of %d steps visited by no scenario: %s", id, len(missing), len(rb.Steps), strings.Join(missing, ", "))
		}
	}
}

// TestLint: every shipped runbook lints without errors or warnings.
func TestLint(t *testing.T) {
	for id, rb := range shipped(t) {
		for _, d := range engine.Lint(rb) {
			t.Errorf("%s: %s", id, d)
		}
	}
}

// TestGraphFits100Columns: `runbook graph` (and the TUI tree) of every
// shipped runbook fits 100 columns, and every step appears in it.
func TestGraphFits100Columns(t *testing.T) {
	for name, rb := range shipped(t) {
		out := engine.GraphText(rb, "")
		for i, l := range strings.Split(out, "\n") {
			if w := ansi.StringWidth(l); w > 100 {
				t.Errorf("%s: graph line %d is %d columns:\n%s", name, i+1, w, l)
			}
		}
		for _, st := range rb.Steps {
			if !strings.Contains(out, " "+st.ID+" [") && !strings.Contains(out, " "+st.ID+" (") && !strings.Contains(out, " "+st.ID+":") {
				t.Errorf("%s: step %s missing from the graph", name, st.ID)
			}
		}
	}
}
