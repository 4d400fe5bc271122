package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const perHostRunbook = `runbook: 1
id: ph
title: per-host paths
targets:
  nodes: {group: true}
steps:
  - id: ping
    ref: "3"
    title: ping the signalling peer
    per_host: {join: summary}
    run: {on: nodes, cmd: "ping -c 1 -W 1 10.20.0.1"}
    branches:
      - {if: exit == 0, goto: core}
    else: cable
  - id: core
    ref: "6"
    title: ping ok
    run: {on: nodes, cmd: "systemctl is-active ecss-core"}
    next: summary
  - id: cable
    ref: "4"
    title: ping failed
    ask: "Is the node's uplink cable plugged in?"
    choices: {"yes": restart, "no": summary}
    auto: "'no'"
  - id: restart
    doc: Restarts networking on the node; its calls drop for a few seconds.
    fix: {on: nodes, cmd: "systemctl restart networking"}
    next: summary
  - id: summary
    run: {on: nodes, cmd: "uptime"}
    branches:
      - if: none(steps.ping.results, .exit != 0)
        goto: done
    else: escalate
  - id: done
    end: resolved
  - id: escalate
    message: "{{ count(steps.ping.results, .exit != 0) }} nodes cannot reach the peer"
    end: escalated
`

const pingOK = `PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.
64 bytes from 10.20.0.1: icmp_seq=1 ttl=64 time=0.412 ms

--- 10.20.0.1 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.412/0.412/0.412/0.000 ms
`

const pingLost = `PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.

--- 10.20.0.1 ping statistics ---
1 packets transmitted, 0 received, 100% packet loss, time 0ms

`

func nodes(names ...string) map[string][]engine.Host {
	var hs []engine.Host
	for _, n := range names {
		hs = append(hs, engine.Host{Role: "nodes", Name: n})
	}
	return map[string][]engine.Host{"nodes": hs}
}

func perHostFake() *enginetest.Fake {
	return enginetest.New(
		enginetest.Rule{Host: "h2", Match: `^ping `, Stdout: pingLost, Exit: 1},
		enginetest.Rule{Host: "h4", Match: `^ping `, Stdout: pingLost, Exit: 1},
		enginetest.Rule{Match: `^ping `, Stdout: pingOK},
		enginetest.Rule{Match: `^systemctl is-active`, Stdout: "active\n"},
		enginetest.Rule{Match: `^systemctl restart`},
		enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days,  2:03,  1 user,  load average: 0.08, 0.03, 0.01\n"},
	)
}

type eventLog struct {
	mu  sync.Mutex
	evs []engine.Event
}

func (l *eventLog) add(e engine.Event) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }

func hostNames(hs []engine.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func ranOn(f *enginetest.Fake, prefix string) []string {
	var out []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c.Script, prefix) {
			out = append(out, c.Host)
		}
	}
	slices.Sort(out)
	return out
}

// TestPerHostPathsDiverge: inside a per_host section each host follows its
// own branch; the hosts that wait at the same ask are asked once, one of
// them can be answered apart (Select), and the group re-joins at the
// declared step, whose condition sees every host's result.
func TestPerHostPathsDiverge(t *testing.T) {
	rb := mustLoad(t, perHostRunbook)
	fake := perHostFake()
	log := &eventLog{}
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: nodes("h1", "h2", "h3", "h4", "h5"), OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptAsk || p.Step.ID != "cable" || !slices.Equal(hostNames(p.Hosts), []string{"h2", "h4"}) {
		t.Fatalf("want one ask for h2 and h4, got %s at %s for %v", p.Kind, p.Step.ID, hostNames(p.Hosts))
	}
	if p.Section == nil || !slices.Equal(p.Section.Joined, []string{"h1", "h3", "h5"}) {
		t.Fatalf("h1, h3, h5 should have re-joined already: %+v", p.Section)
	}
	if got := ranOn(fake, "systemctl is-active"); !slices.Equal(got, []string{"h1", "h3", "h5"}) {
		t.Fatalf("core check ran on %v, want the hosts whose ping worked", got)
	}
	if err := s.Select([]string{"h1"}); err == nil {
		t.Fatal("selecting a host that re-joined must fail")
	}
	if err := s.Select([]string{"h2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Answer("yes", "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// h4 is still waiting at the ask and h2 at its fix: the larger set is
	// shown first; both are there to pick.
	if len(p.Section.Waiting) != 2 {
		t.Fatalf("want two waiting sets (h2's fix, h4's ask), got %+v", p.Section.Waiting)
	}
	if p.Kind != engine.PromptConfirm {
		if err := s.Select([]string{"h2"}); err != nil {
			t.Fatal(err)
		}
		p = s.Pending()
	}
	if p.Kind != engine.PromptConfirm || len(p.Commands) != 1 || p.Commands[0].Host.Name != "h2" || p.Commands[0].Command != "systemctl restart networking" {
		t.Fatalf("want h2's fix to confirm, got %s %+v", p.Kind, p.Commands)
	}
	if err := s.Confirm(nil, "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptAsk || !slices.Equal(hostNames(p.Hosts), []string{"h4"}) {
		t.Fatalf("want h4's ask, got %s %v", p.Kind, hostNames(p.Hosts))
	}
	if err := s.Answer("no", "operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated || p.Message != "2 nodes cannot reach the peer" {
		t.Fatalf("want escalated with 2 failed nodes, got %s %s %q", p.Kind, p.Outcome, p.Message)
	}
	if got := ranOn(fake, "systemctl restart"); !slices.Equal(got, []string{"h2"}) {
		t.Fatalf("the fix ran on %v, want h2 only", got)
	}
	if got := ranOn(fake, "uptime"); len(got) != 5 {
		t.Fatalf("the join step ran on %v, want all 5", got)
	}
	ds := s.Divergences()
	if len(ds) != 1 {
		t.Fatalf("want one section, got %d", len(ds))
	}
	want := `3 hosts → 6 (ping ok) · 1 host → 4 (ping failed) answered "yes": h2 · 1 host → 4 (ping failed) answered "no": h4`
	if ds[0].Line != want {
		t.Errorf("divergence:\n got %s\nwant %s", ds[0].Line, want)
	}
	var decided string
	for _, e := range log.evs {
		if e.Type == engine.EvDecision && e.Step == "ping" && e.Lane == "" {
			decided = e.Explain
		}
	}
	if decided != want {
		t.Errorf("the section's decision event says %q", decided)
	}
	// Every event of a lane says whose it is.
	for _, e := range log.evs {
		if e.Type == engine.EvAnswer && e.Lane == "" {
			t.Errorf("answer event without its lane: %+v", e)
		}
	}
}

// TestPerHostResumeMidSection: a journal cut inside the section restores
// every host where it was: no probe runs again, h2's pending fix is still
// pending, and the divergence comes out the same.
func TestPerHostResumeMidSection(t *testing.T) {
	rb := mustLoad(t, perHostRunbook)
	log := &eventLog{}
	targets := nodes("h1", "h2", "h3", "h4", "h5")
	s, err := engine.NewSession(rb, engine.Options{Executor: perHostFake(), Targets: targets, OnEvent: log.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Select([]string{"h2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Answer("yes", "operator"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	// The process dies here. The journal round-trips through JSON.
	data, err := json.Marshal(log.evs)
	if err != nil {
		t.Fatal(err)
	}
	var evs []engine.Event
	if err := json.Unmarshal(data, &evs); err != nil {
		t.Fatal(err)
	}
	fake := perHostFake()
	all := &eventLog{evs: append([]engine.Event{}, evs...)}
	r, err := engine.Restore(rb, engine.Options{Executor: fake, Targets: targets, OnEvent: all.add}, evs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Advance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.Calls()) != 0 {
		t.Fatalf("resume ran %v again", fake.Calls())
	}
	if p.Section == nil || len(p.Section.Waiting) != 2 {
		t.Fatalf("want h2's fix and h4's ask waiting, got %+v", p)
	}
	for range 2 {
		switch p.Kind {
		case engine.PromptConfirm:
			if !slices.Equal(hostNames(p.Hosts), []string{"h2"}) {
				t.Fatalf("confirm for %v", hostNames(p.Hosts))
			}
			err = r.Confirm(nil, "operator")
		case engine.PromptAsk:
			if !slices.Equal(hostNames(p.Hosts), []string{"h4"}) {
				t.Fatalf("ask for %v", hostNames(p.Hosts))
			}
			err = r.Answer("no", "operator")
		default:
			t.Fatalf("unexpected %s", p.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
		if p, err = r.Advance(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeEscalated {
		t.Fatalf("want escalated, got %s %s", p.Kind, p.Outcome)
	}
	if got := ranOn(fake, "ping"); len(got) != 0 {
		t.Errorf("ping ran again on %v", got)
	}
	if got := ranOn(fake, "systemctl restart"); !slices.Equal(got, []string{"h2"}) {
		t.Errorf("fix ran on %v", got)
	}
	want := `3 hosts → 6 (ping ok) · 1 host → 4 (ping failed) answered "yes": h2 · 1 host → 4 (ping failed) answered "no": h4`
	if ds := r.Divergences(); len(ds) != 1 || ds[0].Line != want {
		t.Errorf("divergence after resume: %+v", ds)
	}
	// Restored again after the end (what `runbook sessions` and the bundle
	// read), the session still has every host's path.
	again, err := engine.Restore(rb, engine.Options{Executor: enginetest.New(), Targets: targets}, all.evs)
	if err != nil {
		t.Fatal(err)
	}
	if ds := again.Divergences(); len(ds) != 1 || ds[0].Line != want {
		t.Errorf("divergence from the whole journal: %+v", ds)
	}
}

// TestPerHostOverrideAndRerunFailed: inside a section an override may
// re-join but not leave it; the hosts whose probe failed (a connection
// reset on h3) run it again, alone, and the others keep waiting.
func TestPerHostOverrideAndRerunFailed(t *testing.T) {
	rb := mustLoad(t, perHostRunbook)
	fake := enginetest.New(
		enginetest.Rule{Host: "h3", Match: `^systemctl is-active`, Err: errors.New("read tcp 127.0.0.1:41022: connection reset by peer"), Times: 1},
	)
	for _, r := range []enginetest.Rule{
		{Host: "h2", Match: `^ping `, Stdout: pingLost, Exit: 1},
		{Match: `^ping `, Stdout: pingOK},
		{Match: `^systemctl is-active`, Stdout: "active\n"},
		{Match: `^uptime`, Stdout: " 03:12:01 up 41 days\n"},
	} {
		fake.Add(r)
	}
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: nodes("h1", "h2", "h3"), StepMode: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func() *engine.Prompt {
		t.Helper()
		p, err := s.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := step()
	if p.Kind != engine.PromptRun || len(p.Hosts) != 3 {
		t.Fatalf("want one run prompt for 3 hosts: %s %d", p.Kind, len(p.Hosts))
	}
	_ = s.Proceed()
	p = step() // decided: h1, h3 → core (largest first)
	if p.Kind != engine.PromptDecided || p.Decision.Next != "core" {
		t.Fatalf("got %s %+v", p.Kind, p.Decision)
	}
	if err := s.Override("escalate", "stop here"); err == nil {
		t.Fatal("an override out of the section must be refused")
	}
	_ = s.Proceed()
	p = step() // h1 and h3 at core's run prompt
	if p.Kind != engine.PromptRun || p.Step.ID != "core" {
		t.Fatalf("got %s at %s", p.Kind, p.Step.ID)
	}
	_ = s.Proceed()
	p = step() // h1's decision and h3's transport error wait: pick the error
	for _, g := range p.Section.Waiting {
		if g.Kind == engine.PromptError {
			if err := s.Select(g.Hosts); err != nil {
				t.Fatal(err)
			}
			p = s.Pending()
		}
	}
	if p.Kind != engine.PromptError || hostNames(p.Hosts)[0] != "h3" {
		t.Fatalf("want h3's transport error, got %s %v", p.Kind, hostNames(p.Hosts))
	}
	if got := s.FailedHosts(); !slices.Equal(got, []string{"h3"}) {
		t.Fatalf("failed %v", got)
	}
	before := len(ranOn(fake, "systemctl is-active"))
	if err := s.RerunFailed(); err != nil {
		t.Fatal(err)
	}
	p = step()
	if got := ranOn(fake, "systemctl is-active"); len(got) != before+1 {
		t.Fatalf("rerun ran %v", got)
	}
	// h3 now decided as h1 did: one set again.
	if p.Kind != engine.PromptDecided || p.Decision.Next != "summary" || !slices.Equal(hostNames(p.Hosts), []string{"h1", "h3"}) {
		t.Fatalf("want h1 and h3 decided for summary after h3's rerun, got %s %v", p.Kind, hostNames(p.Hosts))
	}
	if err := s.Override("summary", "re-join now"); err != nil {
		t.Fatalf("an override to the join step is allowed: %v", err)
	}
}

// TestGraphMarksPerHostAndRollout: `runbook graph` says where a per-host
// section starts and how a fix rolls out.
func TestGraphMarksPerHostAndRollout(t *testing.T) {
	g := engine.GraphTextWidth(mustLoad(t, perHostRunbook), "", 200)
	if !strings.Contains(g, "ping the signalling peer [run, per host until summary]") {
		t.Errorf("graph:\n%s", g)
	}
	g = engine.GraphTextWidth(mustLoad(t, rolloutRunbook), "", 200)
	if !strings.Contains(g, "[fix, rollout canary 1 then 30%, max errors 1]") {
		t.Errorf("graph:\n%s", g)
	}
}

// BenchmarkPerHostSection1000 walks a per-host section on 1 000 hosts
// (a fake executor answers at once): two of three hosts go one way, the
// rest another, every host re-joins; what the engine itself costs per
// section, lanes, events and grouping included.
func BenchmarkPerHostSection1000(b *testing.B) {
	rb, err := engine.Load("ph.yaml", []byte(perHostRunbook))
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for i := range 1000 {
		names = append(names, fmt.Sprintf("ecss-%04d", i))
	}
	targets := nodes(names...)
	var rules []enginetest.Rule
	for i, n := range names {
		if i%3 == 2 { // every third host loses its ping
			rules = append(rules, enginetest.Rule{Host: n, Match: `^ping `, Stdout: pingLost, Exit: 1})
		}
	}
	fake := enginetest.New(rules...)
	for _, r := range []enginetest.Rule{{Match: `^ping `, Stdout: pingOK},
		{Match: `^systemctl is-active`, Stdout: "active\n"},
		{Match: `^uptime`, Stdout: " 03:12:01 up 41 days\n"}} {
		fake.Add(r)
	}
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: targets, OnEvent: func(engine.Event) { events++ }})
		if err != nil {
			b.Fatal(err)
		}
		p, err := s.Advance(context.Background())
		if err == nil && p.Kind == engine.PromptAsk { // the 333 hosts without ping, at once
			if err = s.Answer("no", "operator"); err == nil {
				p, err = s.Advance(context.Background())
			}
		}
		if err != nil || p.Kind != engine.PromptEnd {
			b.Fatalf("%s %v", p.Kind, err)
		}
		if d := s.Divergences(); len(d) != 1 || len(d[0].Paths) != 1000 {
			b.Fatal("no divergence")
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// TestPerHostGroupAskShowsEveryHostsText: hosts waiting at the same ask are
// asked once, but each renders the question with its own name and results;
// the one question shows every host's text (it used to show the first
// host's alone, so an answer for h2 and h4 was given reading h2's facts).
func TestPerHostGroupAskShowsEveryHostsText(t *testing.T) {
	src := strings.Replace(perHostRunbook, `ask: "Is the node's uplink cable plugged in?"`,
		`ask: "{{ targets.nodes.name }} lost {{ steps.ping.results[0].stdout contains '100% packet loss' ? 'every' : 'some' }} ping: is its uplink cable plugged in?"`, 1)
	rb := mustLoad(t, src)
	s, err := engine.NewSession(rb, engine.Options{Executor: perHostFake(), Targets: nodes("h1", "h2", "h3", "h4")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != engine.PromptAsk || !slices.Equal(hostNames(p.Hosts), []string{"h2", "h4"}) {
		t.Fatalf("want one ask for h2 and h4, got %s for %v", p.Kind, hostNames(p.Hosts))
	}
	want := "h2: h2 lost every ping: is its uplink cable plugged in?\n\nh4: h4 lost every ping: is its uplink cable plugged in?"
	if p.Text != want {
		t.Fatalf("the question for h2 and h4 reads\n%q\nwant\n%q", p.Text, want)
	}
	if err := s.Select([]string{"h4"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending().Text; got != "h4 lost every ping: is its uplink cable plugged in?" {
		t.Fatalf("narrowed to h4, the question reads %q", got)
	}
}
