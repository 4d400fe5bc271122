package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

func init() { extraCommands = append(extraCommands, newTestCmd) }

type testOptions struct {
	paths       []string
	minCoverage float64
	junit       string
	stdout      io.Writer
	stderr      io.Writer
}

func newTestCmd() *cobra.Command {
	o := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test [FILE|DIR]...",
		Short: "Run the scenarios beside runbooks and report edge coverage",
		Long: `Run every scenario beside each runbook unattended, with simulated hosts, and
check the outcome and path it declares (expect.outcome, expect.path).
Scenarios live in scenarios/ID/*.yaml next to the runbook file (ID is the
runbook's id, or its file name without .yaml), as the shipped runbooks do.

Edge coverage counts every declared route (branch, else, next, choice,
on_error) that some scenario took, and lists those none took with
file:line:col. Without arguments, tests the runbooks in the current directory.

Exit status: 0 every scenario passed and coverage reached --min-coverage;
1 a scenario failed or coverage is below --min-coverage; 2 bad usage, a
runbook or scenario that does not load, or no runbook found.`,
		Example: `  runbook test runbooks/
  runbook test my-runbook.yaml --min-coverage 100 --junit report.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			if len(o.paths) == 0 {
				o.paths = []string{"."}
			}
			o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runTest(cmd.Context(), o)
		},
	}
	cmd.Flags().Float64Var(&o.minCoverage, "min-coverage", 0, "fail when a runbook's edge coverage is below this percentage")
	cmd.Flags().StringVar(&o.junit, "junit", "", "also write a JUnit XML report to this file")
	return cmd
}

// runbookTest is the result of testing one runbook.
type runbookTest struct {
	file     string
	rb       *engine.Runbook
	checks   []*scenario.Check
	coverage *scenario.Coverage
	duration time.Duration
}

func runTest(ctx context.Context, o *testOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.minCoverage < 0 || o.minCoverage > 100 {
		return usageErr("test: --min-coverage must be between 0 and 100")
	}
	files, err := expandPaths(o.paths)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErr("test: no *.yaml runbooks in %s", strings.Join(o.paths, " "))
	}
	var results []*runbookTest
	for _, f := range files {
		rb, ds := engine.CheckFile(f)
		if rb == nil {
			for _, d := range ds {
				fmt.Fprintln(o.stderr, d.String())
			}
			return &exitError{Code: 2, Err: fmt.Errorf("test: %s does not lint; fix it first (runbook lint %s)", f, f)}
		}
		sfiles, err := scenario.Beside(f, rb.ID)
		if err != nil {
			return &exitError{Code: 2, Err: fmt.Errorf("test: %s: %w", f, err)}
		}
		ss, err := scenario.LoadAll(sfiles)
		if err != nil {
			return &exitError{Code: 2, Err: fmt.Errorf("test: %w", err)}
		}
		rt := &runbookTest{file: f, rb: rb, coverage: scenario.NewCoverage(rb)}
		start := time.Now()
		for i, s := range ss {
			if s.Runbook != "" && s.Runbook != rb.ID {
				return &exitError{Code: 2, Err: fmt.Errorf("test: %s: scenario is for runbook %q, not %q", sfiles[i], s.Runbook, rb.ID)}
			}
			c, err := scenario.RunCheck(ctx, rb, sfiles[i], s)
			if err != nil {
				return &exitError{Code: 2, Err: fmt.Errorf("test: %w", err)}
			}
			rt.checks = append(rt.checks, c)
			rt.coverage.Add(c.Decisions)
		}
		rt.duration = time.Since(start)
		results = append(results, rt)
	}
	failed := printTest(o.stdout, results, o.minCoverage)
	if o.junit != "" {
		if err := writeJUnit(o.junit, results, o.minCoverage); err != nil {
			return &exitError{Code: 2, Err: fmt.Errorf("test: --junit: %w", err)}
		}
	}
	if failed {
		return &exitError{Code: 1}
	}
	return nil
}

// printTest writes the report and says whether anything failed.
func printTest(w io.Writer, results []*runbookTest, min float64) bool {
	failed := false
	scenarios, passed := 0, 0
	for _, rt := range results {
		fmt.Fprintf(w, "%s (%s)\n", rt.file, rt.rb.ID)
		if len(rt.checks) == 0 {
			fmt.Fprintf(w, "  no scenarios: add scenarios/%s/NAME.yaml beside it\n", rt.rb.ID)
		}
		for _, c := range rt.checks {
			scenarios++
			if c.Passed() {
				passed++
				fmt.Fprintf(w, "  ok    %s: %s in %d steps\n", c.Scenario.Name, c.Result.Outcome, len(c.Result.Path))
				continue
			}
			failed = true
			fmt.Fprintf(w, "  FAIL  %s (%s)\n", c.Scenario.Name, c.File)
			for _, f := range c.Failures {
				fmt.Fprintf(w, "        %s\n", strings.ReplaceAll(f, "\n", "\n        "))
			}
		}
		taken, total := rt.coverage.Counts()
		pct := rt.coverage.Percent()
		verdict := ""
		if pct < min {
			failed = true
			verdict = fmt.Sprintf(" — below --min-coverage %g%%", min)
		}
		fmt.Fprintf(w, "  coverage: %d/%d edges (%.1f%%)%s\n", taken, total, pct, verdict)
		if missed := rt.coverage.Missed(); len(missed) > 0 {
			fmt.Fprintln(w, "  never taken:")
			for _, e := range missed {
				fmt.Fprintf(w, "    %s\n", e.Describe())
			}
		}
	}
	fmt.Fprintf(w, "%d runbook(s), %d/%d scenario(s) passed\n", len(results), passed, scenarios)
	return failed
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes one suite per runbook: a case per scenario and one for
// coverage, which fails below min and lists the edges never taken.
func writeJUnit(path string, results []*runbookTest, min float64) error {
	var doc junitSuites
	for _, rt := range results {
		s := junitSuite{Name: rt.rb.ID, Time: fmt.Sprintf("%.3f", rt.duration.Seconds())}
		for _, c := range rt.checks {
			jc := junitCase{Name: c.Scenario.Name, Classname: rt.rb.ID, File: c.File}
			if !c.Passed() {
				jc.Failure = &junitFailure{Message: strings.SplitN(c.Failures[0], "\n", 2)[0], Text: strings.Join(c.Failures, "\n")}
				s.Failures++
			}
			s.Cases = append(s.Cases, jc)
		}
		cov := junitCase{Name: "edge coverage", Classname: rt.rb.ID, File: rt.file}
		taken, total := rt.coverage.Counts()
		if rt.coverage.Percent() < min {
			var lines []string
			for _, e := range rt.coverage.Missed() {
				lines = append(lines, e.Describe())
			}
			cov.Failure = &junitFailure{Message: fmt.Sprintf("%d/%d edges (%.1f%%), below %g%%", taken, total, rt.coverage.Percent(), min), Text: strings.Join(lines, "\n")}
			s.Failures++
		}
		s.Cases = append(s.Cases, cov)
		s.Tests = len(s.Cases)
		doc.Suites = append(doc.Suites, s)
	}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(data, '\n')...), 0o644)
}
