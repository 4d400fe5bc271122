package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/catalog"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/run"
	"github.com/runbook-dev/runbook/internal/scenario"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func init() { extraCommands = append(extraCommands, newDemoCmd) }

// defaultDemoRunbook is what `runbook demo` opens with no argument.
const defaultDemoRunbook = "mrs-alm-45641"

// demoOptions are the flags of `runbook demo`.
type demoOptions struct {
	runbook  string
	scenario string
	auto     bool
	list     bool
	output   string
	speed    float64
	file     string // the chosen scenario's file, for a runbook file's own scenarios
	bundle   bundleOptions

	stdin          io.Reader
	stdout, stderr io.Writer
}

func newDemoCmd() *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [RUNBOOK|FILE]",
		Short: "Walk a shipped runbook against simulated hosts over real SSH on loopback",
		Long: `Start simulated hosts in this process (SSH servers on 127.0.0.1, random
ports, host keys trusted for this session only) and walk a shipped runbook
against them. Nothing is installed, written to a host or sent to the network.

A FILE is a runbook file; its scenarios are beside it, in scenarios/ID/*.yaml
(as for runbook test), so a session recorded with runbook scenario record
replays offline.

The hosts answer commands from a scenario shipped with the runbook
(` + "`runbook demo --list`" + ` shows them). With --auto the walk is unattended and
uses the answers, fixes and inputs the scenario declares; otherwise the
interactive TUI opens.

Waits run on a demo clock: --speed 300 (the default) lets a 10-minute wait
pass in 2 seconds.`,
		Example: `  runbook demo
  runbook demo --auto
  runbook demo --list
  runbook demo ecss10-cluster-split --scenario data-split-persists --auto`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeRunbooks,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.runbook = defaultDemoRunbook
			if len(args) == 1 {
				o.runbook = args[0]
			}
			o.stdin, o.stdout, o.stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runDemo(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.scenario, "scenario", "s", "", "scenario to simulate (default: the runbook's first)")
	f.BoolVar(&o.auto, "auto", false, "run unattended with the scenario's declared answers and print the result")
	f.BoolVar(&o.list, "list", false, "list the runbooks and scenarios that can be demonstrated")
	f.StringVarP(&o.output, "output", "o", "text", "result format for --auto: text, json or jsonl")
	f.Float64Var(&o.speed, "speed", 300, "how much faster than real time waits pass (1 = real time)")
	addBundleFlags(f, &o.bundle)
	return cmd
}

// demoable returns every shipped runbook id that has scenarios, sorted.
func demoable() (map[string][]*scenario.Scenario, []string, error) {
	entries, err := catalog.Shipped()
	if err != nil {
		return nil, nil, fmt.Errorf("load shipped runbooks: %w", err)
	}
	out := map[string][]*scenario.Scenario{}
	var ids []string
	for _, e := range entries {
		ss, err := catalog.Scenarios(e.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("load scenarios of %s: %w", e.ID, err)
		}
		if len(ss) > 0 {
			out[e.ID] = ss
			ids = append(ids, e.ID)
		}
	}
	sort.Strings(ids)
	return out, ids, nil
}

func runDemo(ctx context.Context, o *demoOptions) error {
	all, ids, err := demoable()
	if err != nil {
		return err
	}
	if o.list {
		printDemoList(o.stdout, all, ids)
		return nil
	}
	if o.speed < 1 {
		return usageErr("--speed must be 1 or more")
	}
	list := all[o.runbook]
	var fileRB *engine.Runbook
	var scenarioFiles []string
	if fi, err := os.Stat(o.runbook); err == nil && !fi.IsDir() {
		// A runbook file: its scenarios are beside it (scenarios/ID/*.yaml),
		// as for runbook test; a recorded session replays this way.
		rb, ds := engine.CheckFile(o.runbook)
		if rb == nil {
			return &exitError{Code: 2, Err: fmt.Errorf("demo: %s does not lint:\n%v", o.runbook, ds)}
		}
		files, err := scenario.Beside(o.runbook, rb.ID)
		if err != nil {
			return usageErr("demo: %v", err)
		}
		scenarioFiles = files
		if list, err = scenario.LoadAll(files); err != nil {
			return usageErr("demo: %v", err)
		}
		if len(list) == 0 {
			return usageErr("demo: no scenarios beside %s (scenarios/%s/*.yaml)", o.runbook, rb.ID)
		}
		fileRB = rb
	}
	if list == nil {
		return usageErr("no shipped runbook %q with scenarios (try: %s)", o.runbook, strings.Join(ids, ", "))
	}
	s := list[0]
	if o.scenario != "" {
		s = nil
		var names []string
		for _, x := range list {
			names = append(names, x.Name)
			if x.Name == o.scenario {
				s = x
			}
		}
		if s == nil {
			return usageErr("runbook %s has no scenario %q (scenarios: %s)", o.runbook, o.scenario, strings.Join(names, ", "))
		}
	}
	for i, x := range list {
		if x == s && i < len(scenarioFiles) {
			if o.file, err = filepath.Abs(scenarioFiles[i]); err != nil {
				return usageErr("demo: %v", err)
			}
		}
	}
	fleet, err := sshtest.NewFleet(s)
	if err != nil {
		return &exitError{Code: 1, Err: fmt.Errorf("start simulated hosts: %w", err)}
	}
	defer fleet.Close()
	fmt.Fprintf(o.stderr, "demo: %s, scenario %q: %s\n", o.runbook, s.Name, oneLine(s.Description))
	for _, h := range s.HostNames() {
		fmt.Fprintf(o.stderr, "demo: simulated host %s on ssh://%s\n", h, fleet.Addr(h))
	}
	rb := fileRB
	if rb == nil {
		if rb, err = loadRunbook(s.Runbook); err != nil {
			return err
		}
	}
	ro, err := demoRunOptions(o, rb, s, fleet.Executor())
	if err != nil {
		return err
	}
	return run.Run(ctx, ro)
}

// demoRunOptions runs a scenario: its targets on the simulated fleet, its
// params, and the policy an unattended run of it declares.
func demoRunOptions(o *demoOptions, rb *engine.Runbook, s *scenario.Scenario, remote engine.Executor) (run.Options, error) {
	pol, err := demoPolicy(rb, s)
	if err != nil {
		return run.Options{}, err
	}
	params := map[string]string{}
	for k, v := range s.Params {
		params[k] = v
	}
	bundle, err := o.bundle.options()
	if err != nil {
		return run.Options{}, err
	}
	return run.Options{
		Runbook: rb, Targets: s.Bindings(), Params: params, Policy: pol,
		Interactive: !o.auto && isTerminal(o.stdin, o.stdout), Output: o.output,
		Remote: remote, Clock: newScaledClock(o.speed), Bundle: bundle,
		Journal: run.JournalOptions{Demo: &journal.Demo{Scenario: s.Name, File: o.file, Speed: o.speed}},
		UI:      run.UIOptions{Banner: demoBanner(s.Name)},
		Stdin:   o.stdin, Stdout: o.stdout, Stderr: o.stderr, ToolVersion: version,
	}, nil
}

// demoPolicy is what an unattended run of the scenario declares: answers,
// fix inputs, allowed fixes, manual steps assumed done.
func demoPolicy(rb *engine.Runbook, s *scenario.Scenario) (auto.Policy, error) {
	pol := auto.Policy{
		Answers: map[string]string{}, Inputs: map[string]map[string]string{}, AssumeDone: map[string]bool{},
		AllowFix: s.AllowFix, AllowDestructive: s.AllowDestr,
	}
	for k, v := range s.Answers {
		pol.Answers[k] = v
	}
	for step, m := range s.Inputs {
		pol.Inputs[step] = map[string]string{}
		for k, v := range m {
			pol.Inputs[step][k] = v
		}
	}
	for _, step := range s.AssumeDone {
		pol.AssumeDone[step] = true
	}
	if err := pol.Check(rb); err != nil {
		return pol, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return pol, nil
}

func demoBanner(scenario string) string {
	return "demo · scenario " + scenario + " · simulated hosts"
}

// demoFleet starts the simulated hosts of a shipped scenario (for resume).
func demoFleet(runbookID, name, file string) (*sshtest.Fleet, *scenario.Scenario, error) {
	var ss []*scenario.Scenario
	var err error
	if file != "" { // a scenario beside a runbook file (demo FILE)
		ss, err = scenario.LoadAll([]string{file})
	} else {
		ss, err = catalog.Scenarios(runbookID)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load scenarios of %s: %w", runbookID, err)
	}
	for _, s := range ss {
		if s.Name == name {
			fleet, err := sshtest.NewFleet(s)
			if err != nil {
				return nil, nil, &exitError{Code: 1, Err: fmt.Errorf("start simulated hosts: %w", err)}
			}
			return fleet, s, nil
		}
	}
	return nil, nil, usageErr("demo scenario %q of %s is not shipped in this build", name, runbookID)
}

func printDemoList(w io.Writer, all map[string][]*scenario.Scenario, ids []string) {
	for _, id := range ids {
		mark := ""
		if id == defaultDemoRunbook {
			mark = "  (default)"
		}
		fmt.Fprintf(w, "%s%s\n", id, mark)
		for i, s := range all[id] {
			first := ""
			if i == 0 {
				first = "*"
			}
			fmt.Fprintf(w, "  %1s %-38s %-10s %s\n", first, s.Name, s.Expect.Outcome, oneLine(s.Description))
		}
	}
	fmt.Fprintln(w, "\n* the scenario used when --scenario is not given")
	fmt.Fprintln(w, "run one: runbook demo RUNBOOK --scenario NAME [--auto]")
}

// oneLine shortens a description to its first sentence for listings. A
// sentence ends at ". " after a lowercase letter, a digit or a bracket, so
// abbreviations such as S.M.A.R.T. do not cut it short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == ' ' && strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789)", rune(s[i-1])) {
			s = s[:i+1]
			break
		}
	}
	if r := []rune(s); len(r) > 90 {
		s = string(r[:87]) + "..."
	}
	return s
}

// scaledClock is the demo clock: Sleep(d) sleeps d/speed for real and moves
// the clock forward by all of d, so a wait step polls at its declared
// intervals and times out at its declared timeout in simulated time,
// speed times faster than real time. Command durations stay real.
type scaledClock struct {
	speed  float64
	mu     sync.Mutex
	offset time.Duration
}

func newScaledClock(speed float64) *scaledClock { return &scaledClock{speed: speed} }

func (c *scaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	real := time.Duration(float64(d) / c.speed)
	t := time.NewTimer(real)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	c.offset += d - real
	c.mu.Unlock()
	return nil
}
