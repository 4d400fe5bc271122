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
	if st.Label() != "10 Check the reallocated sectors" || st.Frame == nil {
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
		{"for_each not a list", map[string]string{"main.yaml": strings.Replace(caller(`{file: lib/callee.yaml, with: {disk: "{{ item }}"}, targets: {host: node}}`), "    call:", "    for_each: \"42\"\n    call:", 1), "lib/callee.yaml": calleeSrc},
			[]string{"main.yaml:10:15: error: for_each: 42 gives int, not a list"}},
		{"a device", map[string]string{"main.yaml": caller(`{file: /dev/zero}`)},
			[]string{"main.yaml:10:", "/dev/zero is not a regular file"}},
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

// storcli64 /c0 /eall /sall show, as a MegaRAID controller prints it.
const storcliShow = `CLI Version = 007.1017.0000.0000 May 10, 2019
Operating system = Linux 4.18.0-147.el8.x86_64
Controller = 0
Status = Success
Description = Show Drive Information Succeeded.


Drive Information :
=================

-------------------------------------------------------------------------------
EID:Slt DID State DG       Size Intf Med SED PI SeSz Model                  Sp Type
-------------------------------------------------------------------------------
252:0     8 Onln   0 893.750 GB SATA SSD N   N  512B SAMSUNG MZ7LH960HAJR-00005 U  -
252:1     9 Onln   0 893.750 GB SATA SSD N   N  512B SAMSUNG MZ7LH960HAJR-00005 U  -
252:2    10 UGood  -   7.276 TB SATA HDD N   N  512B HGST HUS728T8TALE6L4    U  -
252:3    11 Onln   1   7.276 TB SATA HDD N   N  512B HGST HUS728T8TALE6L4    U  -
-------------------------------------------------------------------------------

EID=Enclosure Device ID|Slt=Slot No|DID=Device ID|DG=DriveGroup
`

func raidFake() *enginetest.Fake {
	return enginetest.New(
		enginetest.Rule{Match: `^storcli64 /c0 /eall /sall show$`, Stdout: storcliShow},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,0 /dev/sda$`, Stdout: smartPassed},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,1 /dev/sda$`, Stdout: smartFailed, Exit: 8},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,3 /dev/sda$`, Stdout: smartPassed},
	)
}

// TestCallForEachItem: a small subtree per item of an all-match capture.
// The RAID listing finds three online slots; the shared slot check (probe,
// then a manual note when it fails) runs once per slot, in order, with the
// slot in its title, its text and the journal; the caller then decides on
// what the runs found.
func TestCallForEachItem(t *testing.T) {
	rb, ds := engine.CheckFile("testdata/call/raid-slots.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	fake := raidFake()
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: node, OnEvent: func(e engine.Event) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptManual || p.Step.ID != "each/note" {
		t.Fatalf("want slot 1's note, got %+v %v", p, err)
	}
	if p.Text != "Note slot 1 for replacement (its SMART health is FAILED), then confirm." {
		t.Errorf("text %q", p.Text)
	}
	if l := s.ItemLabel(p.Step); l != "slot 2 of 3: 1" {
		t.Errorf("item label %q", l)
	}
	if err := s.Done("operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated {
		t.Fatalf("end %+v %v", p, err)
	}
	var cmds []string
	for _, c := range fake.Calls() {
		cmds = append(cmds, c.Script)
	}
	if strings.Join(cmds, "; ") != "storcli64 /c0 /eall /sall show; smartctl -H -d megaraid,0 /dev/sda; smartctl -H -d megaraid,1 /dev/sda; smartctl -H -d megaraid,3 /dev/sda" {
		t.Errorf("commands %q", cmds)
	}
	// The journal says which slot each step entry belongs to.
	var entries []string
	for _, e := range evs {
		if e.Type == engine.EvStepEnter && strings.HasPrefix(e.Step, "each/") {
			entries = append(entries, e.Step+" ["+e.Text+"]")
		}
	}
	want := []string{
		"each/health [slot 1 of 3: 0]", "each/ok [slot 1 of 3: 0]",
		"each/health [slot 2 of 3: 1]", "each/note [slot 2 of 3: 1]", "each/bad [slot 2 of 3: 1]",
		"each/health [slot 3 of 3: 3]", "each/ok [slot 3 of 3: 3]",
	}
	if strings.Join(entries, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal entries\n got %s\nwant %s", strings.Join(entries, "\n     "), strings.Join(want, "\n     "))
	}
}

// TestCallForEachResumesMidLoop: the process dies at slot 2's manual note;
// the restored session is at that note, for slot 1 (the second item), and
// goes on with slot 3 without running slots 0 and 1 again.
func TestCallForEachResumesMidLoop(t *testing.T) {
	rb, ds := engine.CheckFile("testdata/call/raid-slots.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: raidFake(), Targets: node, OnEvent: func(e engine.Event) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := s.Advance(ctx); err != nil || p.Step.ID != "each/note" {
		t.Fatalf("live: %+v %v", p, err)
	}
	fake := enginetest.New(
		enginetest.Rule{Match: `^storcli64 /c0 /eall /sall show$`, Stdout: storcliShow},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,3 /dev/sda$`, Stdout: smartPassed},
	)
	r, err := engine.Restore(rb, engine.Options{Executor: fake, Targets: node}, evs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Advance(ctx)
	if err != nil || p.Kind != engine.PromptManual || p.Step.ID != "each/note" || r.ItemLabel(p.Step) != "slot 2 of 3: 1" {
		t.Fatalf("resumed at %+v (%s) %v", p, r.ItemLabel(p.Step), err)
	}
	if p.Text != "Note slot 1 for replacement (its SMART health is FAILED), then confirm." {
		t.Errorf("resumed text %q", p.Text)
	}
	if err := r.Done("operator"); err != nil {
		t.Fatal(err)
	}
	p, err = r.Advance(ctx)
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated {
		t.Fatalf("end %+v %v", p, err)
	}
	var cmds []string
	for _, c := range fake.Calls() {
		cmds = append(cmds, c.Script)
	}
	if strings.Join(cmds, "; ") != "smartctl -H -d megaraid,3 /dev/sda" {
		t.Errorf("after resume ran %q, want only slot 3", cmds)
	}
}

// TestCallForEachNoItems: no online slot, no call: the caller's else.
func TestCallForEachNoItems(t *testing.T) {
	rb, ds := engine.CheckFile("testdata/call/raid-slots.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^storcli64`, Stdout: strings.ReplaceAll(storcliShow, "Onln", "UGood")})
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: node})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptEnd || p.Step.ID != "healthy" {
		t.Fatalf("got %+v %v", p, err)
	}
	if got := strings.Join(path(s), " "); got != "slots each healthy" {
		t.Errorf("path %s", got)
	}
}

// TestCallMasksTheCalleesSecrets: a secret param of the called runbook is
// masked in the events like one of the caller's.
func TestCallMasksTheCalleesSecrets(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.yaml": caller(`{file: lib/callee.yaml, with: {disk: "/dev/sdb", token: "hunter2-Token"}, targets: {host: node}}`),
		"lib/callee.yaml": strings.Replace(strings.Replace(calleeSrc, "  disk: {type: path, under: /dev, description: the disk}\n",
			"  disk: {type: path, under: /dev, description: the disk}\n  token: {type: string, secret: true, description: an API token}\n", 1),
			`"smartctl -H {{ params.disk }}"`, `"curl -sH 'X-Token: {{ params.token }}' http://127.0.0.1:8080/disk"`, 1) +
			"redact:\n  - {name: serial, pattern: 'S/N [A-Z0-9]+'}\n",
	})
	rb, ds := engine.CheckFile(filepath.Join(dir, "main.yaml"))
	if rb == nil {
		t.Fatal(ds)
	}
	if len(rb.Redact) != 1 || rb.Redact[0].Name != "serial" {
		t.Errorf("the callee's redact rules are not the caller's: %+v", rb.Redact)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^curl`, Stdout: "token hunter2-Token ok\n"})
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: node, Params: map[string]string{"disk": "/dev/sdb"},
		OnEvent: func(e engine.Event) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(context.Background()); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("%+v %v", p, err)
	}
	for _, e := range evs {
		if strings.Contains(e.Command+e.Data+e.Explain, "hunter2") {
			t.Errorf("secret in %s event: %+v", e.Type, e)
		}
	}
}

// TestCallNested: a called runbook calls another; each return goes back
// one level, the inner call's branches decide in the middle runbook, and
// the inner steps see the params passed down twice.
func TestCallNested(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.yaml": caller(`{file: lib/mid.yaml, with: {disk: "{{ params.disk }}"}, targets: {host: node}}`),
		"lib/mid.yaml": `runbook: 1
id: mid
title: Middle
targets:
  host: {description: the node}
params:
  disk: {type: path, under: /dev, description: the disk}
steps:
  - id: inner
    call: {file: leaf.yaml, with: {dev: "{{ params.disk }}"}}
    branches:
      - {if: 'visits("inner/bad") > 0', goto: failed}
    else: back
  - id: failed
    end: escalated
    message: "{{ steps['inner/check'].health }} from {{ params.disk }}"
  - id: back
    end: return
`,
		"lib/leaf.yaml": `runbook: 1
id: leaf
title: Leaf
targets:
  host: {description: the node}
params:
  dev: {type: path, under: /dev, description: the device}
steps:
  - id: check
    run: {on: host, cmd: "smartctl -H {{ params.dev }}"}
    capture: {health: 'result: (\w+)'}
    branches:
      - {if: exit == 0, goto: good}
    else: bad
  - id: good
    end: return
  - id: bad
    end: return
`,
	})
	rb, ds := engine.CheckFile(filepath.Join(dir, "main.yaml"))
	if rb == nil {
		t.Fatal(ds)
	}
	for _, c := range []struct {
		exit    int
		outcome engine.Outcome
		path    string
	}{
		{0, engine.OutcomeResolved, "sub sub/inner sub/inner/check sub/inner/good sub/back done"},
		{4, engine.OutcomeEscalated, "sub sub/inner sub/inner/check sub/inner/bad sub/failed"},
	} {
		out := smartPassed
		if c.exit != 0 {
			out = smartFailed
		}
		fake := enginetest.New(enginetest.Rule{Match: `^smartctl -H /dev/sdc$`, Stdout: out, Exit: c.exit})
		s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: node, Params: map[string]string{"disk": "/dev/sdc"}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Advance(context.Background())
		if err != nil || p.Kind != engine.PromptEnd || p.Outcome != c.outcome {
			t.Fatalf("exit %d: %+v %v", c.exit, p, err)
		}
		if got := strings.Join(path(s), " "); got != c.path {
			t.Errorf("exit %d: path %s, want %s", c.exit, got, c.path)
		}
		// The middle runbook reads its own call's step by its own name.
		if c.outcome == engine.OutcomeEscalated && p.Message != "FAILED from /dev/sdc" {
			t.Errorf("message %q", p.Message)
		}
	}
	// The inner call's routes, as inlined in the caller, name inlined steps.
	inner := rb.Step("sub/inner")
	if inner.Call == nil || inner.Call.Else != "sub/back" || inner.Call.Branches[0].Goto != "sub/failed" {
		t.Errorf("inner call routes: %+v", inner.Call)
	}
}
