package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// Real smartctl output: a failing SATA disk, then its healthy replacement.
const (
	smartFailed = `smartctl 7.2 2020-12-30 r5155 [x86_64-linux-4.18.0-147.el8.x86_64] (local build)
Copyright (C) 2002-20, Bruce Allen, Christian Franke, www.smartmontools.org

=== START OF READ SMART DATA SECTION ===
SMART overall-health self-assessment test result: FAILED!
Drive failure expected in less than 24 hours. SAVE ALL DATA.
See vendor-specific Attribute list for failed Attributes.
`
	smartPassed = `smartctl 7.2 2020-12-30 r5155 [x86_64-linux-4.18.0-147.el8.x86_64] (local build)
Copyright (C) 2002-20, Bruce Allen, Christian Franke, www.smartmontools.org

=== START OF READ SMART DATA SECTION ===
SMART overall-health self-assessment test result: PASSED

`
	smartAttrs = `smartctl 7.2 2020-12-30 r5155 [x86_64-linux-4.18.0-147.el8.x86_64] (local build)
Copyright (C) 2002-20, Bruce Allen, Christian Franke, www.smartmontools.org

=== START OF READ SMART DATA SECTION ===
SMART Attributes Data Structure revision number: 16
Vendor Specific SMART Attributes with Thresholds:
ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE
  1 Raw_Read_Error_Rate     0x000f   200   200   051    Pre-fail  Always       -       0
  5 Reallocated_Sector_Ct   0x0033   200   200   140    Pre-fail  Always       -       0
  9 Power_On_Hours          0x0032   100   100   000    Old_age   Always       -       12
197 Current_Pending_Sector  0x0032   200   200   000    Old_age   Always       -       0
`
	iostatOut = `Linux 4.18.0-147.el8.x86_64 (node-3) 	12/02/2026 	_x86_64_	(32 CPU)

Device            r/s     w/s     rkB/s     wkB/s   rrqm/s   wrqm/s  %rrqm  %wrqm r_await w_await aqu-sz rareq-sz wareq-sz  svctm  %util
sdb              2.00   41.00     16.00   5120.00     0.00     3.00   0.00   6.82  812.50 1530.12  63.11     8.00   124.88  23.26 100.00
`
)

func loadCall(t *testing.T) *engine.Runbook {
	t.Helper()
	rb, ds := engine.CheckFile("testdata/call/slow-disk.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	return rb
}

func slowDiskFake() *enginetest.Fake {
	return enginetest.New(
		enginetest.Rule{Match: `^iostat -x -d /dev/sdb 1 2$`, Stdout: iostatOut},
		enginetest.Rule{Match: `^smartctl -H /dev/sdb$`, Stdout: smartFailed, Exit: 8, Times: 1},
		enginetest.Rule{Match: `^smartctl -H /dev/sdb$`, Stdout: smartPassed},
		enginetest.Rule{Match: `^smartctl -A /dev/sdb$`, Stdout: smartAttrs},
	)
}

var node = map[string][]engine.Host{"node": {{Role: "node", Name: "root@node-3"}}}

func path(s *engine.Session) []string {
	var out []string
	for _, v := range s.History() {
		out = append(out, v.Step)
	}
	return out
}

// TestCallRepeatsStepsThenGoesOn: "repeat 9 and 10, then go to 17". The
// shared steps 9 and 10 run on the failing disk (it fails 9, so the
// procedure goes to 16), and again after the replacement, then the caller
// goes on at 17. The callee sees its own param (the disk), runs on the
// caller's node, and the caller decides on what the callee found.
func TestCallRepeatsStepsThenGoesOn(t *testing.T) {
	rb := loadCall(t)
	fake := slowDiskFake()
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: node, Params: map[string]string{"disk": "/dev/sdb"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptManual || p.Step.ID != "replace" {
		t.Fatalf("want the manual replace step, got %+v %v", p, err)
	}
	if p.Text != "Replace /dev/sdb (hot swap, as the server's manual says), then confirm. Steps 9 and 10 run again on the new disk." {
		t.Errorf("manual text %q", p.Text)
	}
	if err := s.Done("operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptAsk || p.Step.Ref != "17" {
		t.Fatalf("want step 17, got %+v %v", p, err)
	}
	want := []string{"iostat", "smart", "smart/health", "smart/bad", "replace",
		"recheck", "recheck/health", "recheck/realloc", "recheck/ok", "alarm"}
	if got := path(s); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("path\n got %v\nwant %v", got, want)
	}
	// Steps 9 and 10 as the operator sees them: the vendor's numbers, the
	// callee's titles with its param filled in.
	st := rb.Step("recheck/realloc")
	if st.Label() != "10 Check the reallocated sectors of {{ params.disk }}" || st.Frame == nil {
		t.Errorf("inlined step: %q frame %v", st.Label(), st.Frame)
	}
	// Refs of a called file are its own: the caller has no "9".
	if rb.Step("9") != nil {
		t.Errorf("the caller has no step 9 of its own, but Step(\"9\") = %s", rb.Step("9").ID)
	}
	if err := s.Answer("yes", "operator"); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Advance(ctx)
	if p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved {
		t.Fatalf("end %+v", p)
	}
	// Every command ran on the caller's node with the callee's param.
	calls := fake.Calls()
	var cmds []string
	for _, c := range calls {
		if c.Host != "root@node-3" {
			t.Errorf("ran on %s", c.Host)
		}
		cmds = append(cmds, c.Script)
	}
	if strings.Join(cmds, "; ") != "iostat -x -d /dev/sdb 1 2; smartctl -H /dev/sdb; smartctl -H /dev/sdb; smartctl -A /dev/sdb" {
		t.Errorf("commands: %q", cmds)
	}
}

// TestCallHealthyDiskEscalatesAtTheCaller: the callee returns through its
// other end, and the caller's else takes over.
func TestCallHealthyDiskEscalatesAtTheCaller(t *testing.T) {
	rb := loadCall(t)
	fake := enginetest.New(
		enginetest.Rule{Match: `^iostat`, Stdout: iostatOut},
		enginetest.Rule{Match: `^smartctl -H`, Stdout: smartPassed},
		enginetest.Rule{Match: `^smartctl -A`, Stdout: smartAttrs},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: node, Params: map[string]string{"disk": "/dev/sdb"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated || p.Step.ID != "not-the-disk" {
		t.Fatalf("got %+v %v", p, err)
	}
	if !strings.HasPrefix(p.Message, "The SMART data of /dev/sdb is clean") {
		t.Errorf("message %q", p.Message)
	}
}

// TestCallResumesInsideTheCall: the process dies in the middle of the
// repeat (step 10 of the second call is offered in step mode); the session
// restored from its events is at that step, with the callee's param, and
// after it returns to the caller and reaches 17.
func TestCallResumesInsideTheCall(t *testing.T) {
	rb := loadCall(t)
	var evs []engine.Event
	opts := engine.Options{Executor: slowDiskFake(), Targets: node, Params: map[string]string{"disk": "/dev/sdb"}, StepMode: true,
		OnEvent: func(e engine.Event) { evs = append(evs, e) }}
	s, err := engine.NewSession(rb, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 40 {
		p, err := s.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind == engine.PromptRun && p.Step.ID == "recheck/realloc" {
			if p.Command != "smartctl -A /dev/sdb" {
				t.Fatalf("live command %q", p.Command)
			}
			break
		}
		switch p.Kind {
		case engine.PromptRun, engine.PromptDecided:
			err = s.Proceed()
		case engine.PromptManual:
			err = s.Done("operator")
		default:
			t.Fatalf("unexpected prompt %+v", p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A new process: the first disk's answers are gone from the fake, so
	// anything that ran again would fail loudly.
	fake := enginetest.New(enginetest.Rule{Match: `^smartctl -A /dev/sdb$`, Stdout: smartAttrs})
	r, err := engine.Restore(rb, engine.Options{Executor: fake, Targets: node, Params: map[string]string{"disk": "/dev/sdb"}, StepMode: true}, evs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Advance(ctx)
	if err != nil || p.Kind != engine.PromptRun || p.Step.ID != "recheck/realloc" || p.Command != "smartctl -A /dev/sdb" {
		t.Fatalf("resumed at %+v %v", p, err)
	}
	for range 10 {
		if p.Kind == engine.PromptAsk {
			break
		}
		if err := r.Proceed(); err != nil {
			t.Fatal(err)
		}
		if p, err = r.Advance(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p.Kind != engine.PromptAsk || p.Step.Ref != "17" {
		t.Fatalf("after resume: %+v", p)
	}
	got := strings.Join(path(r), " ")
	if !strings.HasSuffix(got, "recheck/health recheck/realloc recheck/ok alarm") || !strings.Contains(got, "smart/bad replace") {
		t.Errorf("resumed path %s", got)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("resume ran %d commands, want only step 10 again", n)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const calleeSrc = `runbook: 1
id: callee
title: Shared check
targets:
  host: {description: the node}
params:
  disk: {type: path, under: /dev, description: the disk}
steps:
  - id: check
    run: {on: host, cmd: "smartctl -H {{ params.disk }}"}
    next: back
  - id: back
    end: return
`

func caller(call string) string {
	return `runbook: 1
id: caller
title: Caller
targets:
  node: {description: the node}
params:
  disk: {type: path, under: /dev, description: the disk}
steps:
  - id: sub
    call: ` + call + `
    next: done
  - id: done
    end: resolved
`
}

// TestLintCalls: lint checks the callee (in its own file, with its own
// file:line:col), the call's params and targets, and cycles.
func TestLintCalls(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // "file:line:col: error: message" prefixes
	}{
		{"clean", map[string]string{"main.yaml": caller(`{file: lib/callee.yaml, with: {disk: "{{ params.disk }}"}, targets: {host: node}}`), "lib/callee.yaml": calleeSrc}, nil},
		{"callee error in its file", map[string]string{
			"main.yaml":       caller(`{file: lib/callee.yaml, with: {disk: "{{ params.disk }}"}, targets: {host: node}}`),
			"lib/callee.yaml": strings.Replace(calleeSrc, "{{ params.disk }}", "{{ params.disc }}", 1)},
			[]string{"lib/callee.yaml:10:"}},
		{"unknown param", map[string]string{"main.yaml": caller(`{file: lib/callee.yaml, with: {disk: "/dev/sdb", disc: "x"}, targets: {host: node}}`), "lib/callee.yaml": calleeSrc},
			[]string{"main.yaml:10:", `call lib/callee.yaml: it has no param "disc"`}},
		{"missing param", map[string]string{"main.yaml": caller(`{file: lib/callee.yaml, targets: {host: node}}`), "lib/callee.yaml": calleeSrc},
			[]string{"main.yaml:10:", `param "disk" has no default and the call does not give it`}},
		{"bad with template", map[string]string{"main.yaml": caller(`{file: lib/callee.yaml, with: {disk: "{{ params.nope }}"}, targets: {host: node}}`), "lib/callee.yaml": calleeSrc},
			[]string{"main.yaml:10:"}},
		{"unmapped target", map[string]string{"main.yaml": caller(`{file: lib/callee.yaml, with: {disk: "/dev/sdb"}}`), "lib/callee.yaml": calleeSrc},
			[]string{"main.yaml:10:", `its target "host" is no target of this runbook`}},
		{"missing file", map[string]string{"main.yaml": caller(`{file: lib/nope.yaml}`)},
			[]string{"main.yaml:10:", "call lib/nope.yaml:"}},
		{"cycle", map[string]string{
			"main.yaml": caller(`{file: a.yaml, targets: {host: node}}`),
			"a.yaml":    strings.Replace(strings.Replace(calleeSrc, "params:\n  disk: {type: path, under: /dev, description: the disk}\n", "", 1), `    run: {on: host, cmd: "smartctl -H {{ params.disk }}"}`, "    call: {file: main.yaml, targets: {node: host}}", 1)},
			[]string{"a.yaml:8:18: error: call cycle: ", "main.yaml → " + "", "a.yaml → "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, c.files)
			_, ds := engine.CheckFile(filepath.Join(dir, "main.yaml"))
			var errs []string
			for _, d := range ds {
				if d.Severity == engine.SevError {
					errs = append(errs, strings.TrimPrefix(d.String(), dir+"/"))
				}
			}
			if len(c.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("want clean, got\n%s", strings.Join(errs, "\n"))
				}
				return
			}
			all := strings.Join(errs, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("want %q in\n%s", w, all)
				}
			}
		})
	}
}
