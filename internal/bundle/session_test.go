package bundle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

const collectRunbook = `runbook: 1
id: app-logs
title: Gather application logs
targets:
  app: {description: Application node}
params:
  db_password: {type: string, description: DB password, secret: true, default: "Zq9-s3cret-db"}
redact:
  - {name: order-id, pattern: 'ORD-[0-9]{8}'}
steps:
  - id: probe
    ref: "1"
    title: Is the service up?
    run: {on: app, cmd: "systemctl is-active app"}
    branches:
      - {if: "exit == 0", goto: gather}
    else: gather
  - id: gather
    ref: "2"
    title: Collect logs
    collect:
      - {on: app, files: "/var/log/app/*", since: 1h, max_bytes: 2KiB}
      - {on: app, cmd: "journalctl -u app --since -1h"}
      - {on: app, files: "/var/log/missing/*"}
    next: escalate
  - id: escalate
    end: escalated
    message: Attach the bundle to the ticket.
`

const collectScenario = `scenario: app-down
runbook: app-logs
targets: {app: app-1}
hosts:
  app-1:
    user: root
    commands:
      - {match: '^systemctl is-active app$', stdout: "active\n"}
      - {match: '^journalctl', stdout: "Nov 28 app: order ORD-12345678 failed\nNov 28 app: login with Zq9-s3cret-db\n"}
    files:
      /var/log/app/app.log: {content: "start\npassword=hunter2\nready\n", age: 10m}
      /var/log/app/big.log: {size: 10000, age: 5m}
      /var/log/app/old.log: {content: "too old\n", age: 5h}
      /var/log/app/current: {link: /var/log/app/app.log}
`

// A collect step walked by engine.Session against simulated hosts lands in
// a bundle that verifies, with the secret param masked everywhere.
func TestCollectThroughSession(t *testing.T) {
	rb, err := engine.Load("app-logs.yaml", []byte(collectRunbook))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load("app-down.yaml", []byte(collectScenario))
	if err != nil {
		t.Fatal(err)
	}
	ex := scenario.NewExecutor(sc)
	ex.Now = func() time.Time { return t0 }
	w, err := New(Options{Path: t.TempDir(), Runbook: rb, Targets: sc.Bindings(), ToolVersion: "test", Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.NewSession(rb, engine.Options{Executor: ex, Targets: sc.Bindings(), Collector: w, OnEvent: w.Event})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetSecrets(s.Secrets()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var p *engine.Prompt
	for range 20 {
		p, err = s.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind == engine.PromptEnd {
			break
		}
	}
	if p.Kind != engine.PromptEnd {
		t.Fatalf("session did not end: %+v", p)
	}
	path, err := w.Close(ctx, Final{Outcome: string(p.Outcome), Message: p.Message})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	// /var/log/missing/* matched nothing: the bundle says so (partial).
	if m.Status != BundlePartial || m.Outcome != "escalated" || !strings.Contains(strings.Join(m.Partial, " "), "/var/log/missing/*") {
		t.Errorf("status %s partial %v outcome %s; want partial naming the empty glob", m.Status, m.Partial, m.Outcome)
	}
	got := map[string]Entry{}
	for _, e := range m.Entries {
		got[e.Path+e.Command] = e
	}
	if e := got["/var/log/app/app.log"]; e.Status != StatusOK || e.Member != "hosts/app-1/files/var/log/app/app.log" || e.Redactions != 1 {
		t.Errorf("app.log: %+v", e)
	}
	if e := got["/var/log/app/big.log"]; e.Status != StatusTruncated || e.BytesBefore != 10000 || e.BytesAfter > 2048 || !strings.HasSuffix(e.Member, ".tailed") {
		t.Errorf("big.log: %+v", e)
	}
	if _, ok := got["/var/log/app/old.log"]; ok {
		t.Error("old.log is outside the since window but was collected")
	}
	if e := got["/var/log/app/current"]; e.Status != StatusSkipped || e.Link == "" {
		t.Errorf("symlink: %+v", e)
	}
	if e := got["journalctl -u app --since -1h"]; e.Status != StatusOK || e.Member != "hosts/app-1/commands/gather.txt" {
		t.Errorf("command: %+v", e)
	}
	_, data := readArchive(t, path)
	for name, b := range data {
		for _, secret := range []string{"hunter2", "Zq9-s3cret-db", "ORD-12345678"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q", name, secret)
			}
		}
	}
	if !strings.Contains(string(data[ReportName]), "2 Collect logs") {
		t.Errorf("report:\n%s", data[ReportName])
	}
}
