package sshtest_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func loadChrony(t *testing.T, file string) (*engine.Runbook, *scenario.Scenario) {
	t.Helper()
	rb, err := engine.LoadFile("../../../examples/chrony-drift.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := "../../../examples/scenarios/chrony-drift/" + file
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return rb, sc
}

// TestPerHostPathsOverSSH: four in-process SSH hosts that answer
// differently (node2 reaches no NTP source); the run stops at node2's own
// question, is resumed from its journal with the answer, and every node
// keeps its own path; the rollout then changes the nodes over SSH.
func TestPerHostPathsOverSSH(t *testing.T) {
	rb, sc := loadChrony(t, "3-firewall-then-rollout.yaml")
	f, err := sshtest.NewFleet(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var mu sync.Mutex
	var evs []engine.Event
	rec := func(e engine.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }
	s, err := engine.NewSession(rb, engine.Options{Executor: f.Executor(), Targets: sc.Bindings(), OnEvent: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res := auto.Run(ctx, s, auto.Policy{AllowFix: true, AllowDestructive: true})
	if res.Outcome != auto.NeedsHuman || res.Stopped == nil || res.Stopped.Step != "firewall" || !strings.Contains(res.Stopped.Question, "node2") {
		t.Fatalf("want a stop at node2's firewall question: %s %+v %v", res.Outcome, res.Stopped, res.Errors)
	}
	execs := map[string]int{}
	for _, h := range sc.HostNames() {
		execs[h] = f.Server(h).Execs()
	}
	// node1, node3, node4 re-joined; node2 waits. Resume with the answer.
	mu.Lock()
	journal := append([]engine.Event(nil), evs...)
	mu.Unlock()
	r, err := engine.Restore(rb, engine.Options{Executor: f.Executor(), Targets: sc.Bindings(), OnEvent: rec}, journal)
	if err != nil {
		t.Fatal(err)
	}
	res = auto.Run(ctx, r, auto.Policy{AllowFix: true, AllowDestructive: true, Answers: map[string]string{"firewall": "yes"}})
	if res.Outcome != auto.Resolved {
		t.Fatalf("resumed: %s %+v %v", res.Outcome, res.Stopped, res.Errors)
	}
	// Nothing the first process finished ran again: node2 restarted its
	// chronyd (1), then the group steps ran: summary, the rollout's restart
	// and waitsync, verify (4); the others only the group steps.
	for _, h := range sc.HostNames() {
		want := 4
		if h == "node2" {
			want = 5
		}
		if got := f.Server(h).Execs() - execs[h]; got != want {
			t.Errorf("%s ran %d commands after the resume, want %d", h, got, want)
		}
	}
	if len(res.Divergence) != 1 {
		t.Fatalf("divergence: %+v", res.Divergence)
	}
	var node2 []string
	for _, p := range res.Divergence[0].Paths {
		if p.Host == "node2" {
			for _, st := range p.Steps {
				node2 = append(node2, st.Step)
			}
		}
	}
	if !slices.Equal(node2, []string{"tracking", "sources", "firewall", "restart-node"}) {
		t.Errorf("node2's path %v", node2)
	}
	if want := `3 hosts → 5 (Are all nodes synchronised now?) · 1 host → 2 (Can this node reach an NTP source?): node2`; res.Divergence[0].Line != want {
		t.Errorf("divergence line:\n got %s\nwant %s", res.Divergence[0].Line, want)
	}
}
