package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// walkScript is testdata/walks/<name>/script.yaml: the world the session
// walks in (fake command results, files) and what the operator does.
type walkScript struct {
	Modes     []string            `yaml:"modes"` // auto, step (default both)
	Targets   map[string][]string `yaml:"targets"`
	Params    map[string]string   `yaml:"params"`
	DryRun    bool                `yaml:"dry_run"`
	StartAt   string              `yaml:"start_at"`
	MaxVisits int                 `yaml:"max_visits"`
	Rules     []struct {
		Host   string `yaml:"host"`
		Match  string `yaml:"match"`
		Stdout string `yaml:"stdout"`
		Stderr string `yaml:"stderr"`
		Exit   int    `yaml:"exit"`
		Signal string `yaml:"signal"`
		Err    string `yaml:"err"`
		Times  int    `yaml:"times"`
	} `yaml:"rules"`
	Files   map[string]map[string]string `yaml:"files"`
	Actions []walkAction                 `yaml:"actions"`
}

// walkAction answers the prompt named by At ("KIND STEP", e.g. "ask check").
// Prompts with no action: run and decided are proceeded, anything else fails.
type walkAction struct {
	At       string            `yaml:"at"`
	Note     string            `yaml:"note"`
	Edit     string            `yaml:"edit"`
	Answer   string            `yaml:"answer"`
	Inputs   map[string]string `yaml:"inputs"`
	Confirm  bool              `yaml:"confirm"`
	Decline  string            `yaml:"decline"`
	Done     bool              `yaml:"done"`
	Override string            `yaml:"override"`
	Reason   string            `yaml:"reason"`
	Rerun    bool              `yaml:"rerun"`
	Retry    bool              `yaml:"retry"`
	Back     string            `yaml:"back"`
	Abort    string            `yaml:"abort"`
	Proceed  bool              `yaml:"proceed"`
	WantErr  string            `yaml:"want_err"` // the action must fail with this text
}

// TestWalks drives engine.Session through each testdata/walks/<name> and
// compares the transcript (visited steps, commands, decisions with their
// Explain line, answers, outcome, and every command the fake executor saw)
// with transcript.golden. A walk runs in auto and step mode; both must
// produce the same transcript. Rewrite goldens with -update.
func TestWalks(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/walks/*")
	if len(dirs) < 15 {
		t.Fatalf("found %d walks, want at least 15", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rb, err := engine.LoadFile(filepath.Join(dir, "runbook.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if ds := engine.Lint(rb); ds.HasErrors() {
				t.Fatal(ds)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "script.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var sc walkScript
			if err := yaml.UnmarshalWithOptions(raw, &sc, yaml.Strict()); err != nil {
				t.Fatalf("script.yaml: %v", err)
			}
			modes := sc.Modes
			if len(modes) == 0 {
				modes = []string{"auto", "step"}
			}
			var first, firstMode string
			for _, mode := range modes {
				got := runWalk(t, rb, &sc, mode == "step")
				if first == "" {
					first, firstMode = got, mode
				} else if got != first {
					t.Errorf("%s mode and %s mode walked differently\n--- %s\n%s--- %s\n%s", firstMode, mode, firstMode, first, mode, got)
				}
			}
			golden := filepath.Join(dir, "transcript.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(first), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if first != string(want) {
				t.Errorf("transcript differs from %s\n--- got\n%s--- want\n%s", golden, first, want)
			}
		})
	}
}

func runWalk(t *testing.T, rb *engine.Runbook, sc *walkScript, stepMode bool) string {
	t.Helper()
	fake := enginetest.New()
	for _, r := range sc.Rules {
		rule := enginetest.Rule{Host: r.Host, Match: r.Match, Stdout: r.Stdout, Stderr: r.Stderr, Exit: r.Exit, Signal: r.Signal, Times: r.Times}
		if r.Err != "" {
			rule.Err = errors.New(r.Err)
		}
		fake.Add(rule)
	}
	fake.Files = sc.Files
	targets := map[string][]engine.Host{}
	for role, names := range sc.Targets {
		for _, n := range names {
			targets[role] = append(targets[role], engine.Host{Role: role, Name: n})
		}
	}
	tr := &transcript{}
	clock := engine.NewSteppedClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := engine.NewSession(rb, engine.Options{
		Executor: fake, Targets: targets, Params: sc.Params, StepMode: stepMode, DryRun: sc.DryRun,
		StartAt: sc.StartAt, MaxVisits: sc.MaxVisits, Clock: clock, OnEvent: tr.event,
	})
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	ctx := context.Background()
	actions := slices.Clone(sc.Actions)
	for range 500 {
		p, err := s.Advance(ctx)
		if err != nil {
			tr.line("advance stopped: %v", err)
			break
		}
		if p.Kind == engine.PromptEnd {
			break
		}
		at := string(p.Kind) + " " + p.Step.ID
		if len(actions) == 0 || actions[0].At != at {
			if p.Kind == engine.PromptRun || p.Kind == engine.PromptDecided {
				if err := s.Proceed(); err != nil {
					t.Fatalf("proceed at %s: %v", at, err)
				}
				continue
			}
			next := "none"
			if len(actions) > 0 {
				next = actions[0].At
			}
			t.Fatalf("prompt %q has no action (next action is for %q); prompt err: %v", at, next, p.Err)
		}
		a := actions[0]
		actions = actions[1:]
		if err := apply(s, a, p); a.WantErr != "" {
			if err == nil || !strings.Contains(err.Error(), a.WantErr) {
				t.Fatalf("action at %s: got error %v, want %q", at, err, a.WantErr)
			}
			tr.line("refused: %v", err)
		} else if err != nil {
			t.Fatalf("action at %s: %v", at, err)
		}
	}
	if len(actions) > 0 {
		t.Fatalf("%d actions not used, first at %q", len(actions), actions[0].At)
	}
	var path []string
	for _, v := range s.History() {
		path = append(path, v.Step)
	}
	tr.line("path: %s", strings.Join(path, " > "))
	tr.line("executor saw:")
	calls := fake.Calls()
	// A group probe reaches its hosts concurrently: order each run of one
	// command by host so the transcript is stable.
	for i := 0; i < len(calls); {
		j := i + 1
		for j < len(calls) && calls[j].Script == calls[i].Script && calls[j].Host != calls[i].Host {
			j++
		}
		run := calls[i:j]
		sort.Slice(run, func(a, b int) bool { return run[a].Host < run[b].Host })
		for _, c := range run {
			tr.line("  %s: %s", c.Host, c.Script)
		}
		i = j
	}
	return tr.String()
}

func apply(s *engine.Session, a walkAction, p *engine.Prompt) error {
	if a.Note != "" {
		if err := s.Note(a.Note); err != nil {
			return err
		}
	}
	if a.Edit != "" {
		if err := s.EditCommand(a.Edit); err != nil {
			return err
		}
	}
	switch {
	case a.Answer != "":
		return s.Answer(a.Answer, "operator")
	case a.Confirm || a.Inputs != nil:
		return s.Confirm(a.Inputs, "operator")
	case a.Decline != "":
		if err := s.Decline(a.Decline, "operator"); err != nil {
			return err
		}
		if a.Override != "" {
			return s.Override(a.Override, a.Reason)
		}
		return nil
	case a.Done:
		return s.Done("operator")
	case a.Override != "":
		return s.Override(a.Override, a.Reason)
	case a.Rerun:
		return s.Rerun()
	case a.Retry:
		return s.Retry()
	case a.Back != "":
		return s.Back(a.Back)
	case a.Abort != "":
		s.Abort(a.Abort)
		return nil
	case a.Proceed:
		return s.Proceed()
	}
	return nil
}

// transcript renders events for people, deterministically: results of a
// multi-host probe arrive concurrently and are sorted by host.
type transcript struct {
	mu      sync.Mutex
	b       strings.Builder
	results []string
}

func (t *transcript) line(format string, args ...any) {
	t.flush()
	fmt.Fprintf(&t.b, format+"\n", args...)
}

func (t *transcript) flush() {
	sort.Strings(t.results)
	for _, r := range t.results {
		t.b.WriteString(r + "\n")
	}
	t.results = nil
}

func (t *transcript) String() string {
	t.flush()
	return t.b.String()
}

func kv(m map[string]string) string {
	var parts []string
	for _, k := range engine.SortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func (t *transcript) event(e engine.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.Type {
	case engine.EvSessionStart:
		t.line("start %s params: %s", e.Runbook, kv(e.Params))
	case engine.EvStepEnter:
		t.line("enter %s (visit %d)", e.Step, e.Visit)
	case engine.EvCommand:
		edited := ""
		if e.Edited {
			edited = " (edited)"
		}
		t.line("  command on %s%s: %s", e.Host, edited, e.Command)
	case engine.EvOutput:
	case engine.EvResult:
		s := fmt.Sprintf("  result %s:", e.Host)
		if e.Exit != nil {
			s += fmt.Sprintf(" exit %d", *e.Exit)
		}
		if e.Signal != "" {
			s += " signal " + e.Signal
		}
		if e.Error != "" {
			s += " transport error: " + e.Error
		}
		if len(e.Captures) > 0 {
			s += " captures " + kv(e.Captures)
		}
		t.results = append(t.results, s)
	case engine.EvPoll:
		t.line("  poll %d at %gs: satisfied=%v", e.Poll, e.Duration, e.Satisfied)
	case engine.EvDecision:
		t.line("  decision by %s [%s] -> %s: %s", e.By, e.Expr, e.Next, e.Explain)
	case engine.EvAnswer:
		t.line("  answer %q by %s", e.Answer, e.By)
	case engine.EvConfirm:
		t.line("  confirmed by %s inputs {%s}: %s", e.By, kv(e.Inputs), e.Command)
	case engine.EvDecline:
		t.line("  declined by %s: %s", e.By, e.Reason)
	case engine.EvManualDone:
		t.line("  done by %s", e.By)
	case engine.EvOverride:
		t.line("  override by %s -> %s (was %q): %s", e.By, e.Next, e.Text, e.Reason)
	case engine.EvBack:
		t.line("back to %s from %s", e.Step, e.Text)
	case engine.EvNote:
		t.line("  note on %s: %s", e.Step, e.Text)
	case engine.EvCollect:
		what := e.Path
		if e.Command != "" {
			what = "`" + e.Command + "`"
		}
		s := fmt.Sprintf("  collect from %s %s: %s", e.Host, what, e.Status)
		if e.Bytes > 0 {
			s += fmt.Sprintf(" %d bytes", e.Bytes)
		}
		if e.Exit != nil {
			s += fmt.Sprintf(" exit %d", *e.Exit)
		}
		if e.Error != "" {
			s += " (" + e.Error + ")"
		}
		t.line("%s", s)
	case engine.EvSimulated:
		t.line("  simulated: %s", e.Text)
	case engine.EvError:
		t.line("  error: %s", e.Error)
	case engine.EvSessionEnd:
		t.line("end %s: %s", e.Outcome, e.Message)
	default:
		t.line("  %s %s", e.Type, e.Text)
	}
}
