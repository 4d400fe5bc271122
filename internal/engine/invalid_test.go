package engine_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

var update = flag.Bool("update", false, "rewrite golden files (.want, walk transcripts) from the current output")

// TestInvalidRunbooks checks every runbook in testdata/invalid against the
// exact diagnostics in its .want file: file:line:col: severity: message (hint).
// Each case holds one problem; the .want shows it is reported once, where it is.
func TestInvalidRunbooks(t *testing.T) {
	files, err := filepath.Glob("../../testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("want at least 25 invalid runbooks, have %d", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rb, ds := engine.Check(name, data)
			var got strings.Builder
			for _, d := range ds {
				got.WriteString(d.String() + "\n")
			}
			wantFile := strings.TrimSuffix(f, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got.String(), want)
			}
			if len(ds) == 0 {
				t.Fatal("an invalid runbook produced no diagnostics")
			}
			// Check returns a runbook only when it has no errors, and Load
			// (the path `run` takes) refuses whatever Check calls an error
			// or leaves it to Lint, which finds it.
			if ds.HasErrors() != (rb == nil) {
				t.Errorf("Check returned runbook=%v with errors=%v", rb != nil, ds.HasErrors())
			}
			lrb, lerr := engine.Load(name, data)
			if ds.HasErrors() && lerr == nil && !engine.Lint(lrb).HasErrors() {
				t.Errorf("Load + Lint accept a runbook Check rejects")
			}
			if lerr != nil {
				if _, ok := lerr.(engine.Diagnostics); !ok {
					t.Errorf("Load error is %T, want engine.Diagnostics", lerr)
				}
			}
		})
	}
}

// TestCheckReportsStructureAndGraphTogether is the done-when: a
// misspelt key and a dangling goto in one file are both named, with
// line:col, in one pass, while Load still refuses the file.
func TestCheckReportsStructureAndGraphTogether(t *testing.T) {
	src := `runbook: 1
id: both
title: Both problems
targets:
  host: {description: the machine}
steps:
  - id: check
    run: {on: host, cmd: "true"}
    brnaches:
      - {if: "exit == 0", goto: done}
    else: nowhere
  - id: done
    end: resolved
`
	rb, ds := engine.Check("both.yaml", []byte(src))
	if rb != nil {
		t.Fatal("Check returned a runbook with errors")
	}
	want := []string{
		`both.yaml:9:5: error: unknown key "brnaches" in a step (did you mean "branches"?)`,
		`both.yaml:11:11: error: else "nowhere": no such step (no step has this id or ref)`,
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := engine.Load("both.yaml", []byte(src)); err == nil {
		t.Error("Load accepted a runbook with a misspelt key")
	}
}

// TestValidRunbooksAreClean: the valid corpus and shipped runbooks pass
// Check without errors, and Check agrees with Load + Lint on them.
func TestValidRunbooksAreClean(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/valid/*.yaml")
	shipped, _ := filepath.Glob("../../runbooks/*.yaml")
	files = append(files, shipped...)
	if len(files) < 2 {
		t.Fatalf("found only %d valid runbooks", len(files))
	}
	for _, f := range files {
		rb, ds := engine.CheckFile(f)
		if ds.HasErrors() || rb == nil {
			t.Errorf("%s: %v", f, ds)
			continue
		}
		lrb, err := engine.LoadFile(f)
		if err != nil {
			t.Errorf("%s: Load: %v", f, err)
			continue
		}
		if got, want := engine.Lint(lrb).Error(), ds.Error(); got != want {
			t.Errorf("%s: Lint says\n%s\nCheck says\n%s", f, got, want)
		}
	}
}
