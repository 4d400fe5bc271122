package engine_test

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestLintCaptureAgainstExample: the author pastes what `df -hl` prints
// into `example:`; a capture that expects "Use%" values with a typo in the
// pattern (no space before the mount point) can never match and is an
// error at the pattern; the right pattern, a table and a JSON capture of
// etcdctl's output pass.
func TestLintCaptureAgainstExample(t *testing.T) {
	src := `runbook: 1
id: ex
title: Example output
targets:
  n: {description: node}
steps:
  - id: df
    run:
      on: n
      cmd: df -hl /srv/BigData/LocalBackup
      example: |
        Filesystem      Size  Used Avail Use% Mounted on
        /dev/sdb1       1.8T  1.7T   95G  95% /srv/BigData
    capture:
      used: '(\d+)%/srv'
      used_ok: '(\d+)% /srv'
      rows: {table: true}
    next: members
  - id: members
    run:
      on: n
      cmd: etcdctl member list -w json
      example: '{"header":{"cluster_id":14841639068965178418},"members":[{"ID":10501334649042878790,"name":"master-0"}]}'
    capture:
      list: {json: object}
      names: {pattern: '"name":"([^"]+)"', all: true}
      ids: {pattern: '"id":(\d+)', all: true}
    next: done
  - id: done
    end: resolved
`
	_, ds := engine.Check("ex.yaml", []byte(src))
	var errs []string
	for _, d := range ds {
		if d.Severity == engine.SevError {
			errs = append(errs, d.String())
		}
	}
	want := []string{
		`ex.yaml:15:13: error: capture used: the pattern never matches the example output (fix the pattern, or the example if the probe prints something else (example at ex.yaml:11:16))`,
		`ex.yaml:27:22: error: capture ids: the pattern matches nothing in the example output`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors:\n%s", strings.Join(errs, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(errs[i], want[i]) {
			t.Errorf("error %d\n got %s\nwant %s", i, errs[i], want[i])
		}
	}
}

// TestLintWarnsTemplatedTitle: a title is shown as written, so a {{ }} in
// it would reach the operator raw.
func TestLintWarnsTemplatedTitle(t *testing.T) {
	src := "runbook: 1\nid: t\ntitle: T\ntargets:\n  n: {description: n}\nparams:\n  disk: {type: path, under: /dev, description: d}\nsteps:\n  - id: s\n    title: \"Check {{ params.disk }}\"\n    run: {on: n, cmd: \"true\"}\n    next: done\n  - id: done\n    end: resolved\n"
	_, ds := engine.Check("t.yaml", []byte(src))
	if !strings.Contains(ds.Error(), `t.yaml:9:5: warning: step "s": the title's {{ }} is not filled in`) {
		t.Errorf("no warning:\n%v", ds)
	}
}
