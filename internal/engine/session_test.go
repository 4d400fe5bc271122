package engine_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

func mustLoad(t *testing.T, src string) *engine.Runbook {
	t.Helper()
	rb, err := engine.Load("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if ds := engine.Lint(rb); ds.HasErrors() {
		t.Fatal(ds)
	}
	return rb
}

func local(role string) map[string][]engine.Host {
	return map[string][]engine.Host{role: {{Role: role, Name: "local"}}}
}

// A secret that a probe echoes must not leak through captures, the
// decision's Explain line or anything else an event carries.
func TestSecretsMaskedInEveryEventField(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {host: {}}
params:
  token: {secret: true}
steps:
  - id: login
    run: {on: host, cmd: "login {{ params.token }}"}
    capture: {echoed: 'token=(\S+)'}
    branches:
      - {if: "echoed != ''", goto: fix}
    else: done
  - id: fix
    doc: rotates the token
    fix:
      on: host
      cmd: "rotate {{ input.newtoken }}"
      input: {newtoken: {secret: true}}
    next: done
  - id: done
    end: resolved
`)
	fake := enginetest.New(
		enginetest.Rule{Match: "^login ", Stdout: "ok token=hunter2-abc\n", Stderr: "warning: hunter2-abc in argv\n"},
		enginetest.Rule{Match: "^rotate ", Stdout: "rotated to N3W-S3CRET\n"},
	)
	var all strings.Builder
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("host"), Params: map[string]string{"token": "hunter2-abc"},
		OnEvent: func(e engine.Event) {
			all.WriteString(strings.Join([]string{e.Command, e.Data, e.Text, e.Explain, e.Error, e.Reason, e.Message, e.Expr, kv(e.Captures), kv(e.Inputs), kv(e.Params)}, "|") + "\n")
		}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptConfirm {
		t.Fatalf("got %+v, %v", p, err)
	}
	if err := s.Confirm(map[string]string{"newtoken": "N3W-S3CRET"}, "op"); err != nil {
		t.Fatal(err)
	}
	if p, err = s.Advance(context.Background()); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("got %+v, %v", p, err)
	}
	for _, secret := range []string{"hunter2-abc", "N3W-S3CRET"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("secret %q leaked into events:\n%s", secret, all.String())
		}
	}
	for _, v := range s.History() {
		for _, r := range v.Results {
			for k, c := range r.Captures {
				if strings.Contains(c, "hunter2") {
					t.Errorf("history keeps secret capture %s=%q", k, c)
				}
			}
		}
		if v.Decision != nil && strings.Contains(v.Decision.Explain, "hunter2") {
			t.Errorf("history decision leaks the secret: %s", v.Decision.Explain)
		}
	}
	if !fake.Ran("^login hunter2-abc$") || !fake.Ran("^rotate N3W-S3CRET$") {
		t.Errorf("the executor must get the real values: %v", fake.Calls())
	}
}

// The confirm prompt of a fix must not show a command rendered with an
// earlier fix's inputs.
func TestFixInputsDoNotLeakIntoTheNextFix(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {host: {}}
steps:
  - id: one
    fix: {on: host, cmd: "rm -- {{ input.path }}", input: {path: {type: path}}}
    next: two
  - id: two
    fix: {on: host, cmd: "rm -- {{ input.path }}", input: {path: {type: path}}}
    next: done
  - id: done
    end: resolved
`)
	fake := enginetest.New(enginetest.Rule{Match: "^rm -- /tmp/a$"})
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("host")})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Advance(context.Background())
	if err := s.Confirm(map[string]string{"path": "/tmp/a"}, ""); err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptConfirm || p.Step.ID != "two" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if strings.Contains(p.Command, "/tmp/a") {
		t.Errorf("step two's confirm prompt shows step one's input: %q", p.Command)
	}
}

// Abort after Back to a step that has used up its visits must end the
// session, not panic.
func TestAbortAfterBackAtVisitLimit(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
steps:
  - id: ask
    ask: again?
    choices: {"yes": ask2, "no": done}
    auto: stop
  - id: ask2
    ask: really?
    choices: {"yes": done, "no": done}
    auto: stop
  - id: done
    end: resolved
`)
	s, err := engine.NewSession(rb, engine.Options{MaxVisits: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Answer("yes", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Back("ask"); err != nil {
		t.Fatal(err)
	}
	s.Abort("giving up")
	if ended, o, _ := s.Ended(); !ended || o != engine.OutcomeAborted {
		t.Fatalf("ended=%v outcome=%v", ended, o)
	}
}

// timeoutRecorder records the timeout each command was sent with.
type timeoutRecorder struct{ timeouts []time.Duration }

func (r *timeoutRecorder) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	r.timeouts = append(r.timeouts, req.Timeout)
	return engine.CommandResult{Exit: 1}, nil
}

func (r *timeoutRecorder) Fetch(context.Context, engine.Host, engine.FetchRequest, engine.Collector) error {
	return nil
}

// A wait's probe cannot outlive the wait: a probe without its own timeout
// (or with a longer one) gets what is left of the wait's timeout, so a
// hanging probe cannot hold an unattended run forever.
func TestWaitBoundsEachPollByWhatIsLeft(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {host: {}}
steps:
  - id: w
    wait: {every: 20s, timeout: 1m, run: {on: host, cmd: "probe"}, until: "exit == 0"}
    branches: [{if: satisfied, goto: done}]
    else: done
  - id: done
    end: resolved
`)
	rec := &timeoutRecorder{}
	clock := engine.NewSteppedClock(time.Unix(0, 0))
	s, err := engine.NewSession(rb, engine.Options{Executor: rec, Targets: local("host"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(context.Background()); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("got %+v, %v", p, err)
	}
	want := []time.Duration{time.Minute, 40 * time.Second, 20 * time.Second, time.Second}
	if len(rec.timeouts) != 4 {
		t.Fatalf("polls with timeouts %v, want 4 polls", rec.timeouts)
	}
	for i, got := range rec.timeouts[:3] {
		if got != want[i] {
			t.Errorf("poll %d: timeout %v, want %v", i+1, got, want[i])
		}
	}
	if last := rec.timeouts[3]; last <= 0 || last > time.Second {
		t.Errorf("last poll at the deadline: timeout %v, want a short positive bound", last)
	}
}

// Named groups become values of their own; when the pattern does not match
// they have no value, which has() tells apart from an empty match.
func TestNamedCaptureGroups(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {host: {}}
steps:
  - id: df
    run: {on: host, cmd: "df"}
    capture: {line: '(?P<size>\d+)G\s+(?P<pct>\d+)%'}
    branches:
      - {if: "!has(size) && !has(pct)", goto: nomatch}
      - {if: "int(pct) >= 90 && line == size", goto: full}
    else: done
  - id: nomatch
    end: escalated
  - id: full
    end: escalated
  - id: done
    end: resolved
`)
	for _, tc := range []struct{ stdout, want string }{
		{"/dev/sda 100G 93%\n", "full"},
		{"/dev/sda 100G 13%\n", "done"},
		{"df: no such file\n", "nomatch"},
	} {
		s, err := engine.NewSession(rb, engine.Options{Executor: enginetest.New(enginetest.Rule{Match: "^df$", Stdout: tc.stdout}), Targets: local("host")})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Advance(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if p.Step.ID != tc.want {
			h := s.History()[0]
			t.Errorf("stdout %q: ended at %s, want %s (%s)", tc.stdout, p.Step.ID, tc.want, h.Decision.Explain)
		}
	}
}

// Named groups are names in expressions: lint knows them, and refuses one
// that would shadow a built-in such as exit.
func TestLintNamedCaptureGroups(t *testing.T) {
	rb, err := engine.Load("t.yaml", []byte(`runbook: 1
id: s
title: s
targets: {host: {}}
steps:
  - id: df
    run: {on: host, cmd: "df"}
    capture: {line: '(?P<pct>\d+)% (?P<exit>\d+)'}
    branches:
      - {if: "has(pct) && int(pct) > 1", goto: done}
    else: done
  - id: done
    end: resolved
`))
	if err != nil {
		t.Fatal(err)
	}
	got := engine.Lint(rb).Error()
	want := `t.yaml:8:15: error: capture group "exit" shadows the built-in name "exit" (choose another name)`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// The Explain line quotes values that would otherwise read ambiguously.
func TestExplainQuotesCaptureValues(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {host: {}}
steps:
  - id: p
    run: {on: host, cmd: "p"}
    capture: {a: 'a=(\S*)', b: 'b=(.*)$', c: 'c=(\S*)', d: 'd=(\S*)'}
    next: done
  - id: done
    end: resolved
`)
	fake := enginetest.New(enginetest.Rule{Match: "^p$", Stdout: "a=93 b=two words c= d=" + strings.Repeat("é", 30)})
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("host")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.History()[0].Decision.Explain
	want := `exit 0, a=93, b="two words c= d=ééééééééé…", c="", d="éééééééééééééééééééééééé…": next → done`
	if got != want {
		t.Errorf("explain\n got %s\nwant %s", got, want)
	}
}

// Answering a manual step that has no choices says what to do instead.
func TestManualWithoutChoicesRefusesAnAnswerClearly(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
steps:
  - id: m
    manual: do it
    next: done
  - id: done
    end: resolved
`)
	s, _ := engine.NewSession(rb, engine.Options{})
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := s.Answer("yes", "")
	if err == nil || err.Error() != `step m takes no answer: confirm it is done` {
		t.Errorf("got %v", err)
	}
}

// For a group, the Explain line shows per-host values when hosts disagree.
func TestExplainShowsGroupDivergence(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {nodes: {group: true}}
steps:
  - id: v
    run: {on: nodes, cmd: "v"}
    capture: {ver: 'v(\S+)'}
    next: done
  - id: done
    end: resolved
`)
	fake := enginetest.New(
		enginetest.Rule{Host: "n1", Match: "^v$", Stdout: "v1\n"},
		enginetest.Rule{Host: "n2", Match: "^v$", Stdout: "v2\n", Exit: 3},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: map[string][]engine.Host{"nodes": {{Role: "nodes", Name: "n1"}, {Role: "nodes", Name: "n2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.History()[0].Decision.Explain
	want := `exit 3 (n1 0, n2 3), ver=1 (n1 1, n2 2): next → done`
	if got != want {
		t.Errorf("explain\n got %s\nwant %s", got, want)
	}
}
