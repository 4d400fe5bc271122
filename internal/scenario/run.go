package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
)

// DefaultClock is when a scenario's session starts unless it sets `clock:`.
var defaultClock = time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)

// Check is one scenario run against its runbook and judged against its
// `expect`.
type Check struct {
	File     string
	Scenario *Scenario
	Result   *auto.Result
	// Decisions are the routes the run took, in order.
	Decisions []engine.Event
	// Failures say what differs from the scenario's declarations; empty
	// means the scenario passed.
	Failures []string
}

// Passed reports whether the run matched everything the scenario declares.
func (c *Check) Passed() bool { return len(c.Failures) == 0 }

// Path is the steps the run visited.
func (c *Check) Path() []string {
	out := make([]string, 0, len(c.Result.Path))
	for _, p := range c.Result.Path {
		out = append(out, p.Step)
	}
	return out
}

// RunCheck runs s unattended against rb, with the answers, fixes and
// inputs it declares, on the scenario's clock, and compares the outcome and
// path with its `expect`. Commands the simulated hosts cannot answer are
// failures too: a scenario must script every probe it leads to.
func RunCheck(ctx context.Context, rb *engine.Runbook, file string, s *Scenario) (*Check, error) {
	c := &Check{File: file, Scenario: s}
	start := defaultClock
	if !s.Clock.IsZero() {
		start = s.Clock
	}
	clock := engine.NewSteppedClock(start)
	ex := NewExecutor(s)
	ex.Now = clock.Now
	sess, err := engine.NewSession(rb, engine.Options{
		Executor: ex,
		Targets:  s.Bindings(),
		Params:   s.Params,
		Clock:    clock,
		OnEvent: func(e engine.Event) {
			if e.Type == engine.EvDecision {
				c.Decisions = append(c.Decisions, e)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	pol := auto.Policy{Answers: s.Answers, AllowFix: s.AllowFix, AllowDestructive: s.AllowDestr,
		AssumeDone: map[string]bool{}, Inputs: s.Inputs}
	for _, id := range s.AssumeDone {
		pol.AssumeDone[id] = true
	}
	c.Result = auto.Run(ctx, sess, pol)
	if s.Expect.Outcome == "" && len(s.Expect.Path) == 0 {
		c.Failures = append(c.Failures, "declares nothing to check: add expect.outcome and expect.path")
	}
	if s.Expect.Outcome != "" && string(c.Result.Outcome) != s.Expect.Outcome {
		msg := fmt.Sprintf("outcome %s, want %s", c.Result.Outcome, s.Expect.Outcome)
		if c.Result.Stopped != nil {
			msg += fmt.Sprintf(" (stopped at %s: %s)", c.Result.Stopped.Step, c.Result.Stopped.Reason)
		}
		for _, e := range c.Result.Errors {
			msg += "; " + e
		}
		c.Failures = append(c.Failures, msg)
	}
	if len(s.Expect.Path) > 0 && !slices.Equal(c.Path(), s.Expect.Path) {
		c.Failures = append(c.Failures, fmt.Sprintf("path differs\n   got: %s\n  want: %s", strings.Join(c.Path(), " "), strings.Join(s.Expect.Path, " ")))
	}
	if len(s.Expect.Hosts) > 0 {
		got := map[string][]string{}
		for _, d := range c.Result.Divergence {
			for _, hp := range d.Paths {
				for _, st := range hp.Steps {
					got[hp.Host] = append(got[hp.Host], st.Step)
				}
			}
		}
		for _, h := range engine.SortedKeys(s.Expect.Hosts) {
			if want := s.Expect.Hosts[h]; !slices.Equal(got[h], want) {
				c.Failures = append(c.Failures, fmt.Sprintf("host %s's own path differs\n   got: %s\n  want: %s", h, strings.Join(got[h], " "), strings.Join(want, " ")))
			}
		}
	}
	for _, p := range c.Result.Path {
		for _, r := range p.Results {
			if r.Exit == 127 && strings.Contains(r.Stderr, "has no answer for") {
				c.Failures = append(c.Failures, fmt.Sprintf("step %s: %s", p.Step, strings.TrimSpace(r.Stderr)))
			}
		}
	}
	return c, nil
}

// Beside finds the scenarios of a runbook file: scenarios/ID/*.yaml next to
// it (the layout of the shipped runbooks), and scenarios/NAME/*.yaml where
// NAME is the file name without .yaml when it differs from the id.
func Beside(runbookFile, id string) ([]string, error) {
	dir := filepath.Dir(runbookFile)
	names := []string{id}
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(runbookFile), ".yaml"), ".yml")
	if base != id {
		names = append(names, base)
	}
	var out []string
	for _, n := range names {
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(dir, "scenarios", n, pat))
			if err != nil {
				return nil, err
			}
			out = append(out, m...)
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// LoadAll loads scenario files, stopping at the first that is invalid.
func LoadAll(files []string) ([]*Scenario, error) {
	out := make([]*Scenario, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		s, err := Load(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
