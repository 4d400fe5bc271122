package auto_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const autoRunbook = `runbook: 1
id: at
title: auto test
targets:
  h: {description: host}
steps:
  - id: probe
    ref: "1"
    title: Probe the disk
    run: {on: h, cmd: "probe"}
    capture: {used: '(\d+)%'}
    next: decide
  - id: decide
    ref: "2"
    title: Is it full?
    ask: Is the disk full?
    choices: {"yes": clean, "no": handwork}
    auto: 'int(steps["probe"].used) >= 90 ? "yes" : "no"'
  - id: clean
    title: Clean caches
    fix: {on: h, cmd: "clean"}
    next: wipe
  - id: wipe
    title: Wipe a directory
    doc: Deletes the directory given as input; safe only for caches.
    fix: {on: h, cmd: "wipe {{ input.dir }}", destructive: true, input: {dir: {type: string}}}
    next: confirm-ok
  - id: confirm-ok
    ask: Is the service healthy again?
    choices: {"yes": ok, "no": escalate}
    auto: stop
  - id: handwork
    ref: "7"
    manual: Rotate the logs by hand.
    next: ok
  - id: ok
    end: resolved
    message: all good
  - id: escalate
    end: escalated
`

func setup(t *testing.T, used string, dry bool) (*engine.Session, *enginetest.Fake, *strings.Builder) {
	t.Helper()
	rb, err := engine.Load("at.yaml", []byte(autoRunbook))
	if err != nil {
		t.Fatal(err)
	}
	if ds := engine.Lint(rb).Errors(); len(ds) > 0 {
		t.Fatal(ds)
	}
	fake := enginetest.New(
		enginetest.Rule{Match: `^probe$`, Stdout: "/dev/sda1 " + used + "% /\n\x1b]0;pwned\x07"},
		enginetest.Rule{Match: `^clean$`},
		enginetest.Rule{Match: `^wipe `},
	)
	var progress strings.Builder
	prog := auto.NewProgress(&progress, rb)
	s, err := engine.NewSession(rb, engine.Options{
		Executor: fake, DryRun: dry,
		Targets: map[string][]engine.Host{"h": {{Role: "h", Name: "local"}}},
		OnEvent: prog.Event,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, fake, &progress
}

func steps(res *auto.Result) string {
	var out []string
	for _, p := range res.Path {
		out = append(out, p.Step)
	}
	return strings.Join(out, " ")
}

func TestRunPolicies(t *testing.T) {
	tests := []struct {
		name     string
		used     string
		pol      auto.Policy
		outcome  auto.Outcome
		stopAt   string
		reason   string
		path     string
		ran, not []string
	}{
		{name: "fix refused without --allow-fix", used: "95", outcome: auto.NeedsHuman, stopAt: "clean", reason: "--allow-fix",
			path: "probe decide clean", not: []string{"clean", "wipe"}},
		{name: "destructive fix refused", used: "95", pol: auto.Policy{AllowFix: true}, outcome: auto.NeedsHuman,
			stopAt: "wipe", reason: "--allow-destructive", path: "probe decide clean wipe", ran: []string{"clean"}, not: []string{"wipe"}},
		{name: "fix inputs missing", used: "95", pol: auto.Policy{AllowFix: true, AllowDestructive: true}, outcome: auto.NeedsHuman,
			stopAt: "wipe", reason: "dir: required", not: []string{"wipe"}},
		{name: "auto: stop needs a human", used: "95",
			pol:     auto.Policy{AllowFix: true, AllowDestructive: true, Inputs: map[string]map[string]string{"wipe": {"dir": "/tmp/x"}}},
			outcome: auto.NeedsHuman, stopAt: "confirm-ok", reason: "auto: stop", ran: []string{"clean", "wipe '?/tmp/x'?"}},
		{name: "answer overrides", used: "95",
			pol: auto.Policy{AllowFix: true, AllowDestructive: true, Inputs: map[string]map[string]string{"wipe": {"dir": "/tmp/x"}},
				Answers: map[string]string{"confirm-ok": "yes"}},
			outcome: auto.Resolved, path: "probe decide clean wipe confirm-ok ok"},
		{name: "answer by ref beats the auto policy", used: "95", pol: auto.Policy{Answers: map[string]string{"2": "no"}},
			outcome: auto.NeedsHuman, stopAt: "handwork", reason: "--assume-done handwork", not: []string{"clean"}},
		{name: "auto expression picks no", used: "10", outcome: auto.NeedsHuman, stopAt: "handwork"},
		{name: "assume done by ref", used: "10", pol: auto.Policy{AssumeDone: map[string]bool{"7": true}},
			outcome: auto.Resolved, path: "probe decide handwork ok"},
		{name: "manual done from an answers file", used: "10", pol: auto.Policy{Answers: map[string]string{"handwork": "done"}},
			outcome: auto.Resolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fake, _ := setup(t, tt.used, false)
			res := auto.Run(context.Background(), s, tt.pol)
			if res.Outcome != tt.outcome || res.ExitCode != tt.outcome.ExitCode() {
				t.Fatalf("outcome %s (exit %d), errors %v, stopped %+v", res.Outcome, res.ExitCode, res.Errors, res.Stopped)
			}
			if tt.stopAt != "" && (res.Stopped == nil || res.Stopped.Step != tt.stopAt) {
				t.Fatalf("stopped %+v, want at %s", res.Stopped, tt.stopAt)
			}
			if tt.reason != "" && !strings.Contains(res.Stopped.Reason, tt.reason) {
				t.Fatalf("reason %q lacks %q", res.Stopped.Reason, tt.reason)
			}
			if tt.path != "" && steps(res) != tt.path {
				t.Fatalf("path %q, want %q", steps(res), tt.path)
			}
			for _, r := range tt.ran {
				if !fake.Ran("^" + r + "$") {
					t.Errorf("%s did not run: %v", r, fake.Calls())
				}
			}
			for _, r := range tt.not {
				if fake.Ran("^" + r) {
					t.Errorf("%s ran: %v", r, fake.Calls())
				}
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	want := map[auto.Outcome]int{auto.Resolved: 0, auto.Failed: 1, auto.Escalated: 3, auto.NeedsHuman: 4, auto.Aborted: 5, auto.Interrupted: 130}
	for o, code := range want {
		if o.ExitCode() != code {
			t.Errorf("%s: %d, want %d", o, o.ExitCode(), code)
		}
	}
}

// A dry run follows the tree with real probe results, answers asks as
// --auto does, and never runs a fix: each is recorded as simulated.
func TestDryRunNeverRunsFixes(t *testing.T) {
	s, fake, progress := setup(t, "95", true)
	res := auto.Run(context.Background(), s, auto.Policy{DryRun: true, Answers: map[string]string{"confirm-ok": "yes"},
		Inputs: map[string]map[string]string{"wipe": {"dir": "/tmp/x"}}})
	if res.Outcome != auto.Resolved || steps(res) != "probe decide clean wipe confirm-ok ok" {
		t.Fatalf("%s %q %v", res.Outcome, steps(res), res.Errors)
	}
	if fake.Ran(`^clean`) || fake.Ran(`^wipe`) {
		t.Fatalf("a fix ran in a dry run: %v", fake.Calls())
	}
	if !fake.Ran(`^probe$`) {
		t.Fatal("the read-only probe did not run")
	}
	for _, p := range res.Path {
		if (p.Kind == "fix") != p.Simulated {
			t.Errorf("%s: simulated=%v", p.Step, p.Simulated)
		}
	}
	if n := strings.Count(progress.String(), "SIMULATED"); n != 2 {
		t.Fatalf("progress marks %d simulated steps, want 2:\n%s", n, progress)
	}
	// Each skipped fix: the exact command, on which host (text and JSON).
	if !strings.Contains(progress.String(), "SIMULATED: would run on local: wipe /tmp/x") {
		t.Errorf("progress does not show the skipped fix's command and host:\n%s", progress)
	}
	for _, p := range res.Path {
		if p.Step == "wipe" && p.Command != "wipe /tmp/x" {
			t.Errorf("JSON path: simulated fix command %q, want %q", p.Command, "wipe /tmp/x")
		}
	}
}

func TestProgressLinesAreSanitisedOnePerStep(t *testing.T) {
	s, _, progress := setup(t, "10", false)
	res := auto.Run(context.Background(), s, auto.Policy{AssumeDone: map[string]bool{"handwork": true}})
	if res.Outcome != auto.Resolved {
		t.Fatal(res.Outcome, res.Errors)
	}
	out := progress.String()
	want := []string{
		"1     Probe the disk · local · exit 0, used=10 · → 2 Is it full? (next)",
		`2     Is it full? · - · answered "no" by the auto policy · → 7 handwork`,
		"7     handwork · - · done (--assume-done) · → ok (next)",
		"-     ok · - · end · resolved: all good",
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), out)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, lines[i], want[i])
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("escape sequence reached the terminal: %q", out)
	}
}

func TestPolicyCheck(t *testing.T) {
	rb, _ := engine.Load("at.yaml", []byte(autoRunbook))
	pol := auto.Policy{
		Answers:          map[string]string{"decide": "maybe", "nope": "x", "probe": "y", "handwork": "yes"},
		AssumeDone:       map[string]bool{"decide": true},
		Inputs:           map[string]map[string]string{"wipe": {"path": "/x"}, "probe": {"a": "b"}},
		AllowDestructive: true,
	}
	err := pol.Check(rb)
	if err == nil {
		t.Fatal("no errors")
	}
	for _, frag := range []string{`"maybe" is not a choice (yes, no)`, `"nope": no such step`, "probe: it is a run step",
		`handwork: a manual step takes only "done"`, "--assume-done decide", "input wipe.path", `"probe": no such fix step`,
		"--allow-destructive needs --allow-fix"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("missing %q in:\n%v", frag, err)
		}
	}
	ok := auto.Policy{Answers: map[string]string{"2": "YES", "handwork": "done"}, AssumeDone: map[string]bool{"7": true},
		Inputs: map[string]map[string]string{"wipe": {"dir": "/x"}}}
	if err := ok.Check(rb); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAnswers(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "a.yaml")
	os.WriteFile(yml, []byte("decide: \"no\"\nhandwork: done\nwipe: {dir: /tmp/x}\nconfirm-ok: yes\n"), 0o600)
	js := filepath.Join(dir, "a.json")
	os.WriteFile(js, []byte(`{"decide": "no", "handwork": "done", "wipe": {"dir": "/tmp/x"}, "confirm-ok": "yes"}`), 0o600)
	for _, p := range []string{yml, js} {
		a, in, err := auto.LoadAnswers(p)
		if err != nil {
			t.Fatal(err)
		}
		if a["decide"] != "no" || a["handwork"] != "done" || in["wipe"]["dir"] != "/tmp/x" || len(a) != 3 {
			t.Fatalf("%s: %v %v", p, a, in)
		}
		if a["confirm-ok"] != "yes" && a["confirm-ok"] != "true" {
			t.Fatalf("%s: confirm-ok %q", p, a["confirm-ok"])
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("decide: [a, b]\n"), 0o600)
	if _, _, err := auto.LoadAnswers(bad); err == nil || !strings.Contains(err.Error(), "decide") {
		t.Fatalf("bad file: %v", err)
	}
}
