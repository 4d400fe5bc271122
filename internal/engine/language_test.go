package engine_test

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestRawBlocksReachTheHostUnchanged: the Go-template and JSON arguments of
// real Docker, Kubernetes and OpenShift procedures pass through a command
// template as written, while interpolations next to them are still quoted.
func TestRawBlocksReachTheHostUnchanged(t *testing.T) {
	env := engine.Env{"params": map[string]any{"container": "etcd 1", "node": "master-0"}}
	cases := []struct{ src, want string }{
		{`docker inspect -f '{{raw}}{{.State.Health.Status}}{{/raw}}' {{ params.container }}`,
			`docker inspect -f '{{.State.Health.Status}}' 'etcd 1'`},
		{`kubectl get pods -o go-template='{{raw}}{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}{{/raw}}'`,
			`kubectl get pods -o go-template='{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}'`},
		{`oc patch node {{ params.node }} --type merge -p '{{raw}}{"spec": {"unschedulable": true}}{{/raw}}'`,
			`oc patch node master-0 --type merge -p '{"spec": {"unschedulable": true}}'`},
		{`echo {{raw}}{{/raw}}done`, `echo done`},
	}
	for _, c := range cases {
		tm, err := engine.ParseTemplate(c.src, env)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got, err := tm.Render(env)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got != c.want {
			t.Errorf("render %s\n got %s\nwant %s", c.src, got, c.want)
		}
	}
	for _, bad := range []string{`a {{raw}} b`, `a {{/raw}}`, `'{"a": {"b": 1}}'`} {
		if _, err := engine.ParseTemplate(bad, env); err == nil {
			t.Errorf("%s: parsed, want an error", bad)
		}
	}
}

// TestYAMLAnchorsAndMerges: the slow-disk procedure runs the same SMART
// probe before and after a replacement; the second step merges the first and
// changes only what differs. A bad aliased value is reported at its use.
func TestYAMLAnchorsAndMerges(t *testing.T) {
	src := `runbook: 1
id: anchors
title: Anchors
targets:
  node: {description: the data node}
x-shared:
  smart: &smartcmd "smartctl -H /dev/sdb"
steps:
  - &smart
    id: smart-before
    run: &probe {on: node, cmd: *smartcmd, timeout: 30s}
    capture: {health: 'result: (\w+)'}
    branches:
      - {if: health == "PASSED", goto: done}
    else: replace
  - id: replace
    manual: Replace the disk.
    next: smart-after
  - <<: *smart
    id: smart-after
    else: escalate
  - id: escalate
    end: escalated
  - id: done
    end: resolved
`
	rb, ds := engine.Check("anchors.yaml", []byte(src))
	if rb == nil {
		t.Fatalf("anchors rejected:\n%v", ds)
	}
	after := rb.Step("smart-after")
	if after.Run == nil || after.Run.Cmd != "smartctl -H /dev/sdb" || after.Run.Timeout.Seconds() != 30 || after.Else != "escalate" || len(after.Branches) != 1 {
		t.Fatalf("merged step = %+v run=%+v", after, after.Run)
	}
	if rb.Step("smart-before").Else != "replace" {
		t.Error("the merge changed the anchored step")
	}

	bad := `runbook: 1
id: anchors-bad
title: Anchors
targets:
  node: {description: the data node}
steps:
  - id: a
    run: {on: node, cmd: "true"}
    next: &nowhere missing
  - id: b
    run: {on: node, cmd: "true"}
    next: *nowhere
  - id: c
    run: {on: node, cmd: "true"}
    next: *undefined
`
	_, ds = engine.Check("bad.yaml", []byte(bad))
	want := map[string]bool{
		`bad.yaml:9:11: error: next "missing": no such step`:                false,
		`bad.yaml:12:11: error: next "missing": no such step`:               false,
		`bad.yaml:15:11: error: alias *undefined names no anchor before it`: false,
	}
	for _, d := range ds {
		s := d.String()
		if i := strings.Index(s, " ("); i >= 0 {
			s = s[:i]
		}
		if _, ok := want[s]; ok {
			want[s] = true
		}
	}
	for w, seen := range want {
		if !seen {
			t.Errorf("missing diagnostic %s; got:\n%v", w, ds)
		}
	}
}

// TestListValuesAreWords: a list in a command is one quoted word per item,
// so `oc delete secret {{ steps.secrets.names }}` deletes each secret and a
// name with a space or a quote stays one word.
func TestListValuesAreWords(t *testing.T) {
	env := engine.Env{"names": []any{"etcd-peer-master-1", "it's here", "a b"}, "none": []any{}}
	tm, err := engine.ParseTemplate("oc delete secret {{ names }}; echo {{ none }}.", env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(env)
	if err != nil {
		t.Fatal(err)
	}
	if want := `oc delete secret etcd-peer-master-1 'it'"'"'s here' 'a b'; echo .`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	bad := engine.Env{"names": []any{"ok", "two\nlines"}}
	tm, _ = engine.ParseTemplate("rm {{ names }}", bad)
	if _, err := tm.Render(bad); err == nil {
		t.Error("a list item with a line break rendered")
	}
}
