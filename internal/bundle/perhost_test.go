package bundle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

const perHostBundleRunbook = `runbook: 1
id: ph-bundle
title: Per-host paths in a bundle
targets:
  nodes: {group: true}
steps:
  - id: ping
    ref: "3"
    title: ping the peer
    per_host: {join: summary}
    run: {on: nodes, cmd: "ping -c 1 -W 1 10.20.0.1"}
    branches:
      - {if: exit == 0, goto: ok}
    else: link
  - id: ok
    ref: "6"
    title: ping ok
    run: {on: nodes, cmd: "systemctl is-active ecss-core"}
    next: summary
  - id: link
    ref: "4"
    title: ping failed
    run: {on: nodes, cmd: "ip -br link show eth0"}
    next: summary
  - id: summary
    run: {on: nodes, cmd: "uptime"}
    next: done
  - id: done
    end: resolved
`

const perHostBundleScenario = `scenario: two-down
runbook: ph-bundle
targets: {nodes: [h1, h2, h3, h4]}
hosts:
  h1: &up
    commands:
      - {match: '^ping ', stdout: "PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.\n64 bytes from 10.20.0.1: icmp_seq=1 ttl=64 time=0.398 ms\n\n--- 10.20.0.1 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"}
      - {match: '^systemctl is-active', stdout: "active\n"}
      - {match: '^uptime', stdout: " 03:12:01 up 41 days,  2:03,  1 user,  load average: 0.08, 0.03, 0.01\n"}
  h2: &down
    commands:
      - {match: '^ping ', exit: 1, stdout: "PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.\n\n--- 10.20.0.1 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n"}
      - {match: '^ip -br link', stdout: "eth0             DOWN           52:54:00:12:34:56 <NO-CARRIER,BROADCAST,MULTICAST,UP>\n"}
      - {match: '^uptime', stdout: " 03:12:01 up 2 days,  1:01,  0 users,  load average: 0.00, 0.00, 0.00\n"}
  h3: *up
  h4: *down
`

// TestPerHostPathsInBundle: the manifest keeps each host's path and the
// groups; the report shows the groups and labels each host's own visits.
func TestPerHostPathsInBundle(t *testing.T) {
	rb, err := engine.Load("ph-bundle.yaml", []byte(perHostBundleRunbook))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load("two-down.yaml", []byte(perHostBundleScenario))
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
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("%+v %v", p, err)
	}
	path, err := w.Close(context.Background(), Final{Outcome: string(p.Outcome), Divergence: s.Divergences()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Divergence) != 1 || len(m.Divergence[0].Paths) != 4 || len(m.Divergence[0].Groups) != 2 {
		t.Fatalf("manifest divergence: %+v", m.Divergence)
	}
	want := "2 hosts → 6 (ping ok) · 2 hosts → 4 (ping failed): h2, h4"
	if m.Divergence[0].Line != want {
		t.Errorf("manifest: %q", m.Divergence[0].Line)
	}
	_, data := readArchive(t, path)
	rep := string(data[ReportName])
	for _, s := range []string{"## Per-host paths", want, "| 2 | ping → link | h2, h4 |", "4 ping failed (`link`) — host `h2`"} {
		if !strings.Contains(rep, s) {
			t.Errorf("report lacks %q:\n%s", s, rep)
		}
	}
}
