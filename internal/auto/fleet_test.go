package auto_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const fleetRunbook = `runbook: 1
id: fleet
title: fleet
targets:
  nodes: {group: true}
steps:
  - id: ping
    title: ping the peer
    per_host: {join: summary}
    run: {on: nodes, cmd: "ping -c 2 -W 1 10.20.0.1"}
    capture: {loss: '(\d+)% packet loss'}
    branches:
      - {if: exit == 0 && int(loss) == 0, goto: fine}
    else: cable
  - id: fine
    title: ping ok
    run: {on: nodes, cmd: "true"}
    next: summary
  - id: cable
    title: ping failed
    ask: Restart the uplink?
    choices: {"yes": restart, "no": summary}
    auto: 'has(steps.ping.loss) && int(steps.ping.loss) < 100 ? "yes" : "no"'
  - id: restart
    fix: {on: nodes, cmd: "systemctl restart networking"}
    next: summary
  - id: summary
    run: {on: nodes, cmd: "uptime"}
    next: done
  - id: done
    end: resolved
  - id: wipe
    doc: Removes the node's cache.
    fix: {on: nodes, cmd: "rm -rf /var/cache/ecss", destructive: true}
    next: done
`

func pingOut(loss string) string {
	return "PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.\n\n--- 10.20.0.1 ping statistics ---\n2 packets transmitted, 1 received, " + loss + "% packet loss, time 1001ms\n"
}

// hostsRan are the hosts, in call order, that ran a script starting with prefix.
func hostsRan(fake *enginetest.Fake, prefix string) []string {
	var hosts []string
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Script, prefix) {
			hosts = append(hosts, c.Host)
		}
	}
	return hosts
}

func fleetHosts(names ...string) map[string][]engine.Host {
	var hs []engine.Host
	for _, n := range names {
		hs = append(hs, engine.Host{Role: "nodes", Name: n})
	}
	return map[string][]engine.Host{"nodes": hs}
}

// TestAutoPerHostAnswersEachHostByItsOwnPolicy: --auto answers an ask
// inside a per-host section with each host's own policy (h2 lost every
// packet: no restart; h4 lost half: restart), and the result keeps every
// host's path and the groups.
func TestAutoPerHostAnswersEachHostByItsOwnPolicy(t *testing.T) {
	rb, err := engine.Load("fleet.yaml", []byte(fleetRunbook))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(
		enginetest.Rule{Host: "h2", Match: `^ping`, Stdout: pingOut("100"), Exit: 1},
		enginetest.Rule{Host: "h4", Match: `^ping`, Stdout: pingOut("50")},
		enginetest.Rule{Match: `^ping`, Stdout: pingOut("0")},
		enginetest.Rule{Match: `^true$`},
		enginetest.Rule{Match: `^systemctl restart`},
		enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days,  2:03,  1 user,  load average: 0.08, 0.03, 0.01\n"},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2", "h3", "h4")})
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(context.Background(), s, auto.Policy{AllowFix: true})
	if res.Outcome != auto.Resolved {
		t.Fatalf("outcome %s: %+v %v", res.Outcome, res.Stopped, res.Errors)
	}
	restarted := hostsRan(fake, "systemctl restart")
	if strings.Join(restarted, ",") != "h4" {
		t.Fatalf("restarted on %v, want h4 only", restarted)
	}
	if len(res.Divergence) != 1 {
		t.Fatalf("divergence: %+v", res.Divergence)
	}
	want := `2 hosts → fine (ping ok) · 1 host → cable (ping failed) answered "no": h2 · 1 host → cable (ping failed) answered "yes": h4`
	if res.Divergence[0].Line != want {
		t.Errorf("got  %s\nwant %s", res.Divergence[0].Line, want)
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Path []struct {
			Step  string `json:"step"`
			Paths []struct {
				Host  string `json:"host"`
				Steps []struct {
					Step   string `json:"step"`
					Answer string `json:"answer"`
				} `json:"steps"`
			} `json:"paths"`
		} `json:"path"`
		Divergence []struct {
			Groups []struct {
				Hosts []string `json:"hosts"`
			} `json:"groups"`
		} `json:"divergence"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Path[0].Step != "ping" || len(back.Path[0].Paths) != 4 || back.Path[0].Paths[3].Host != "h4" ||
		len(back.Path[0].Paths[3].Steps) != 3 || back.Path[0].Paths[3].Steps[2].Step != "restart" {
		t.Errorf("JSON path of h4: %s", data)
	}
	if len(back.Divergence[0].Groups) != 3 || strings.Join(back.Divergence[0].Groups[0].Hosts, ",") != "h1,h3" {
		t.Errorf("JSON groups: %+v", back.Divergence)
	}
}

// TestAutoRefusesDestructiveGroupFixWithoutRollout: --allow-destructive is
// not enough to change every host of a group at once.
func TestAutoRefusesDestructiveGroupFixWithoutRollout(t *testing.T) {
	rb, err := engine.Load("fleet.yaml", []byte(fleetRunbook))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New()
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2"), StartAt: "wipe"})
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(context.Background(), s, auto.Policy{AllowFix: true, AllowDestructive: true})
	if res.Outcome != auto.NeedsHuman || res.Stopped == nil || !strings.Contains(res.Stopped.Reason, "declares no rollout") {
		t.Fatalf("want a refusal naming the missing rollout: %s %+v", res.Outcome, res.Stopped)
	}
	if len(fake.Calls()) != 0 {
		t.Fatalf("ran %v", fake.Calls())
	}
}

// TestAutoStopsAFailingRollout: the rollout's stop is a human's call unless
// the operator answered it in advance.
func TestAutoStopsAFailingRollout(t *testing.T) {
	src := strings.Replace(fleetRunbook, `    fix: {on: nodes, cmd: "rm -rf /var/cache/ecss", destructive: true}`,
		`    fix: {on: nodes, cmd: "rm -rf /var/cache/ecss", destructive: true}
    rollout: {canary: 1, batch: 1, verify: {on: nodes, cmd: "test ! -e /var/cache/ecss"}}`, 1)
	rb, err := engine.Load("fleet.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		answers map[string]string
		want    auto.Outcome
		wiped   string
	}{
		{nil, auto.NeedsHuman, "h1"},
		{map[string]string{"wipe": "continue"}, auto.Resolved, "h1,h2,h3"},
	} {
		fake := enginetest.New(
			enginetest.Rule{Host: "h1", Match: `^test `, Exit: 1},
			enginetest.Rule{Match: `^test `},
			enginetest.Rule{Match: `^rm -rf`},
		)
		s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2", "h3"), StartAt: "wipe"})
		if err != nil {
			t.Fatal(err)
		}
		res := auto.Run(context.Background(), s, auto.Policy{AllowFix: true, AllowDestructive: true, Answers: tc.answers})
		wiped := hostsRan(fake, "rm -rf")
		if res.Outcome != tc.want || strings.Join(wiped, ",") != tc.wiped {
			t.Errorf("answers %v: %s (%+v), wiped %v; want %s on %s", tc.answers, res.Outcome, res.Stopped, wiped, tc.want, tc.wiped)
		}
		if tc.want == auto.NeedsHuman && (res.Stopped == nil || res.Stopped.Kind != "rollout") {
			t.Errorf("stop kind: %+v", res.Stopped)
		}
	}
}

// TestPolicyChecksRolloutAnswers: --answer FIX=continue|stop is checked
// before anything runs.
func TestPolicyChecksRolloutAnswers(t *testing.T) {
	src := strings.Replace(fleetRunbook, `    fix: {on: nodes, cmd: "rm -rf /var/cache/ecss", destructive: true}`,
		`    fix: {on: nodes, cmd: "rm -rf /var/cache/ecss", destructive: true}
    rollout: {batch: 1}`, 1)
	rb, err := engine.Load("fleet.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := (auto.Policy{Answers: map[string]string{"wipe": "continue"}}).Check(rb); err != nil {
		t.Errorf("continue: %v", err)
	}
	if err := (auto.Policy{Answers: map[string]string{"wipe": "go"}}).Check(rb); err == nil || !strings.Contains(err.Error(), `takes "continue" or "stop"`) {
		t.Errorf("go: %v", err)
	}
}

// TestProgressSumsUpPerHostSections: --auto progress prints the section's
// divergence line once and each rollout batch, never a line per host and
// step from inside the section.
func TestProgressSumsUpPerHostSections(t *testing.T) {
	rb, err := engine.Load("fleet.yaml", []byte(fleetRunbook))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(
		enginetest.Rule{Host: "h2", Match: `^ping`, Stdout: pingOut("100"), Exit: 1},
		enginetest.Rule{Match: `^ping`, Stdout: pingOut("0")},
		enginetest.Rule{Match: `^true$`},
		enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days\n"},
	)
	var out strings.Builder
	pr := auto.NewProgress(&out, rb)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2", "h3"), OnEvent: pr.Event})
	if err != nil {
		t.Fatal(err)
	}
	if res := auto.Run(context.Background(), s, auto.Policy{}); res.Outcome != auto.Resolved {
		t.Fatalf("%s %+v", res.Outcome, res.Stopped)
	}
	got := out.String()
	if !strings.Contains(got, `2 hosts → fine (ping ok) · 1 host → cable (ping failed) answered "no": h2`) {
		t.Errorf("progress lacks the divergence line:\n%s", got)
	}
	if strings.Count(got, "\n") != 3 { // ping (the section), summary, done
		t.Errorf("progress printed the hosts' own steps:\n%s", got)
	}
}

// TestAutoStopInsideSectionKeepsWhereEachHostIs: a stop at one host's
// question inside a section still reports every host's path so far.
func TestAutoStopInsideSectionKeepsWhereEachHostIs(t *testing.T) {
	src := strings.Replace(fleetRunbook, `    auto: 'has(steps.ping.loss) && int(steps.ping.loss) < 100 ? "yes" : "no"'`, `    auto: stop`, 1)
	rb, err := engine.Load("fleet.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(
		enginetest.Rule{Host: "h2", Match: `^ping`, Stdout: pingOut("100"), Exit: 1},
		enginetest.Rule{Match: `^ping`, Stdout: pingOut("0")},
		enginetest.Rule{Match: `^true$`},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2", "h3")})
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(context.Background(), s, auto.Policy{})
	if res.Outcome != auto.NeedsHuman || res.Stopped.Step != "cable" {
		t.Fatalf("%s %+v", res.Outcome, res.Stopped)
	}
	if len(res.Divergence) != 1 || !res.Divergence[0].Open {
		t.Fatalf("want the open section: %+v", res.Divergence)
	}
	if want := "2 hosts → fine (ping ok) · 1 host → cable (ping failed): h2"; res.Divergence[0].Line != want {
		t.Errorf("got %q", res.Divergence[0].Line)
	}
	// The stop says how to answer this host apart, naming the hosts waiting.
	if want := "or one host apart with --answer cable@HOST=CHOICE (h2)"; !strings.Contains(res.Stopped.Reason, want) {
		t.Errorf("the stop's reason lacks %q: %s", want, res.Stopped.Reason)
	}
}

// TestAutoAnswersOneHostApart: --answer STEP@HOST answers one host of a
// per-host section apart from the step-wide --answer STEP.
func TestAutoAnswersOneHostApart(t *testing.T) {
	src := strings.Replace(fleetRunbook, `    auto: 'has(steps.ping.loss) && int(steps.ping.loss) < 100 ? "yes" : "no"'`, `    auto: stop`, 1)
	rb, err := engine.Load("fleet.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pol := auto.Policy{AllowFix: true, Answers: map[string]string{"cable": "yes", "cable@root@h4": "no"}}
	if err := pol.Check(rb); err != nil {
		t.Fatal(err)
	}
	if err := (auto.Policy{Answers: map[string]string{"cable@": "no"}}).Check(rb); err == nil {
		t.Error("STEP@ without a host must be refused")
	}
	if err := (auto.Policy{Answers: map[string]string{"cable@h4": "maybe"}}).Check(rb); err == nil {
		t.Error("a per-host answer that is not a choice must be refused")
	}
	fake := enginetest.New(
		enginetest.Rule{Host: "root@h2", Match: `^ping`, Stdout: pingOut("100"), Exit: 1},
		enginetest.Rule{Host: "root@h4", Match: `^ping`, Stdout: pingOut("100"), Exit: 1},
		enginetest.Rule{Match: `^ping`, Stdout: pingOut("0")},
		enginetest.Rule{Match: `^true$`},
		enginetest.Rule{Match: `^systemctl restart`},
		enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days\n"},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("root@h1", "root@h2", "root@h3", "root@h4")})
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(context.Background(), s, pol)
	if res.Outcome != auto.Resolved {
		t.Fatalf("%s %+v %v", res.Outcome, res.Stopped, res.Errors)
	}
	restarted := hostsRan(fake, "systemctl restart")
	if strings.Join(restarted, ",") != "root@h2" {
		t.Errorf("restarted %v: h2 takes the step-wide yes, h4 its own no", restarted)
	}
}

// TestAutoDestructiveInsideSectionOneHostAtATime: hosts of a per-host
// section that reach the same destructive fix are changed one at a time,
// each followed by its own check; a host whose check fails stops the run
// before the next host is changed.
func TestAutoDestructiveInsideSectionOneHostAtATime(t *testing.T) {
	src := `runbook: 1
id: wipe
title: wipe
targets:
  nodes: {group: true}
steps:
  - id: check
    per_host: {join: done}
    run: {on: nodes, cmd: "test -s /var/cache/ecss/index"}
    branches:
      - {if: exit == 0, goto: done}
    else: wipe
  - id: wipe
    doc: Removes the node's cache; it is rebuilt at the next start.
    fix: {on: nodes, cmd: "rm -rf /var/cache/ecss", destructive: true}
    next: recheck
  - id: recheck
    run: {on: nodes, cmd: "systemctl is-active ecss-core"}
    branches:
      - {if: exit == 0, goto: done}
    else: why
  - id: why
    ask: ecss-core did not come back on {{ targets.nodes.name }}. Go on?
    choices: {"yes": done, "no": done}
    auto: stop
  - id: done
    end: resolved
`
	rb, err := engine.Load("wipe.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(
		enginetest.Rule{Match: `^test -s`, Exit: 1},
		enginetest.Rule{Host: "h1", Match: `^systemctl is-active`, Stdout: "failed\n", Exit: 3},
		enginetest.Rule{Match: `^systemctl is-active`, Stdout: "active\n"},
		enginetest.Rule{Match: `^rm -rf`},
	)
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2", "h3")})
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(context.Background(), s, auto.Policy{AllowFix: true, AllowDestructive: true})
	if res.Outcome != auto.NeedsHuman || res.Stopped.Step != "why" {
		t.Fatalf("want a stop at h1's failed check: %s %+v", res.Outcome, res.Stopped)
	}
	wiped := hostsRan(fake, "rm -rf")
	if strings.Join(wiped, ",") != "h1" {
		t.Errorf("wiped %v: after h1's check failed no other host may be changed", wiped)
	}
}

// TestProgressNamesABigGroupBySize: a step on 40 hosts prints one short
// line (its first and last hosts and the count), not 40 names.
func TestProgressNamesABigGroupBySize(t *testing.T) {
	rb, err := engine.Load("fleet.yaml", []byte(`runbook: 1
id: big
title: big
targets:
  nodes: {group: true}
steps:
  - id: probe
    title: Is it up?
    run: {on: nodes, cmd: "true"}
    next: done
  - id: done
    end: resolved
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 1; i <= 40; i++ {
		names = append(names, fmt.Sprintf("web%02d", i))
	}
	var progress strings.Builder
	s, err := engine.NewSession(rb, engine.Options{
		Executor: enginetest.New(enginetest.Rule{Match: `^true$`}),
		Targets:  fleetHosts(names...),
		OnEvent:  auto.NewProgress(&progress, rb).Event,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := auto.Run(context.Background(), s, auto.Policy{}); res.Outcome != auto.Resolved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	first := strings.SplitN(progress.String(), "\n", 2)[0]
	if !strings.Contains(first, " · web01,web02,web03 … web40 (40 hosts) · ") || len(first) > 120 {
		t.Errorf("progress line: %q", first)
	}
}

// TestAutoInputsPerHost: inside a per-host section, inputs given for one
// host (STEP@HOST) are that host's, the step's own inputs the others'; the
// policy check accepts them and refuses an unknown input for one host.
func TestAutoInputsPerHost(t *testing.T) {
	src := `runbook: 1
id: units
title: units
targets:
  nodes: {group: true}
steps:
  - id: check
    per_host: {join: done}
    run: {on: nodes, cmd: "systemctl is-failed ecss-core"}
    branches:
      - {if: exit != 0, goto: done}
    else: restart
  - id: restart
    fix:
      on: nodes
      input:
        unit: {type: string, pattern: '[a-z-]+'}
      cmd: "systemctl restart ecss-{{ input.unit }}.service"
    next: done
  - id: done
    run: {on: nodes, cmd: "true"}
    next: end
  - id: end
    end: resolved
`
	rb, err := engine.Load("units.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	fake := enginetest.New(enginetest.Rule{Match: `^systemctl is-failed`, Stdout: "failed\n"}, enginetest.Rule{Match: `^systemctl restart`}, enginetest.Rule{Match: `^true$`})
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: fleetHosts("h1", "h2", "h3")})
	if err != nil {
		t.Fatal(err)
	}
	pol := auto.Policy{AllowFix: true, Inputs: map[string]map[string]string{"restart": {"unit": "core"}, "restart@h2": {"unit": "ds"}}}
	if err := pol.Check(rb); err != nil {
		t.Fatalf("per-host inputs refused: %v", err)
	}
	res := auto.Run(context.Background(), s, pol)
	if res.Outcome != auto.Resolved {
		t.Fatalf("%s %+v %v", res.Outcome, res.Stopped, res.Errors)
	}
	got := map[string]string{}
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Script, "systemctl restart") {
			got[c.Host] = c.Script
		}
	}
	want := map[string]string{"h1": "systemctl restart ecss-core.service", "h2": "systemctl restart ecss-ds.service", "h3": "systemctl restart ecss-core.service"}
	for h, w := range want {
		if got[h] != w {
			t.Errorf("%s ran %q, want %q", h, got[h], w)
		}
	}
	bad := auto.Policy{Inputs: map[string]map[string]string{"restart@h2": {"service": "ds"}, "restart@": {"unit": "ds"}}}
	if err := bad.Check(rb); err == nil || !strings.Contains(err.Error(), "input restart.service: the fix declares no such input") || !strings.Contains(err.Error(), "name the host after @") {
		t.Errorf("bad per-host inputs: %v", err)
	}
}
