package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/divergence"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

const (
	uiPingOK   = "PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.\n64 bytes from 10.20.0.1: icmp_seq=1 ttl=64 time=0.398 ms\n\n--- 10.20.0.1 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"
	uiPingLost = "PING 10.20.0.1 (10.20.0.1) 56(84) bytes of data.\n\n--- 10.20.0.1 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n"
)

func perHostUIFake() *enginetest.Fake {
	return enginetest.New(
		enginetest.Rule{Host: "ecss2", Match: `^ping`, Stdout: uiPingLost, Exit: 1},
		enginetest.Rule{Host: "ecss4", Match: `^ping`, Stdout: uiPingLost, Exit: 1},
		enginetest.Rule{Match: `^ping`, Stdout: uiPingOK},
		enginetest.Rule{Match: `^systemctl is-active`, Stdout: "active\n"},
		enginetest.Rule{Match: `^uptime`, Stdout: " 03:12:01 up 41 days,  2:03,  1 user,  load average: 0.08, 0.03, 0.01\n"},
	)
}

// TestDivergenceViewActsOnOneGroup: after the per-host ping, p shows the
// hosts grouped by where they go; the operator picks the two that failed,
// follows their route alone, drills into one of them, and answers their
// question for both at once.
func TestDivergenceViewActsOnOneGroup(t *testing.T) {
	h := newHarness(t, "per-host.yaml", perHostUIFake(), withTargets("nodes", "ecss1", "ecss2", "ecss3", "ecss4", "ecss5"))
	h.settle()
	h.wantPrompt(engine.PromptRun, "ping")
	h.mustSee("per-host · for 5 hosts")
	h.press("enter") // run ping on all five, each on its own
	h.wantPrompt(engine.PromptDecided, "ping")
	h.mustSee("per-host · for 3 hosts: ecss1, ecss3, ecss5", "set(s) wait elsewhere")
	h.press("p")
	h.mustSee("Per-host paths", "5 hosts, still apart: 3 at ping (decided) → core · 2 at",
		"3 ping · waits at ping (decided) → core", "ecss1, ecss3, ecss5", "2 ping · waits at ping (decided) → cable", "ecss2, ecss4")
	golden(t, "divergence_waiting", h.screen())
	h.press("down", "enter") // act on the two that failed
	h.wantPrompt(engine.PromptDecided, "ping")
	h.mustSee("per-host · for 2 hosts: ecss2, ecss4")
	h.press("enter") // follow: both go to the question
	h.wantPrompt(engine.PromptAsk, "cable")
	h.mustSee("per-host · for 2 hosts: ecss2, ecss4")
	// Drill into ecss4: its own ping output.
	h.press("p")
	for range 3 {
		if g, _, _ := h.m.paths.Selected(); g.Waiting == "cable (ask)" {
			break
		}
		h.press("down")
	}
	h.press("right", "down", "right")
	h.mustSee("Host ecss4", "100% packet loss")
	h.press("esc", "esc", "esc")
	// ecss4 alone first: its cable is plugged in.
	h.press("p")
	for range 3 {
		if g, _, _ := h.m.paths.Selected(); g.Waiting == "cable (ask)" {
			break
		}
		h.press("down")
	}
	h.press("right", "down", "enter")
	h.wantPrompt(engine.PromptAsk, "cable")
	h.mustSee("per-host · for 1 host: ecss4")
	h.press("1")
	h.wantPrompt(engine.PromptAsk, "cable") // the one waiting for its own answer
	h.mustSee("per-host · for 1 host: ecss2")
	h.press("1") // yes
	h.wantPrompt(engine.PromptDecided, "ping")
	h.mustSee("per-host · for 3 hosts: ecss1, ecss3, ecss5")
	for range 10 {
		if h.prompt() == engine.PromptEnd {
			break
		}
		h.press("enter")
	}
	if h.prompt() != engine.PromptEnd {
		t.Fatalf("did not end:\n%s", h.screen())
	}
	h.press("p")
	h.mustSee("3 hosts → 6 (ping ok) · 2 hosts → 4 (ping failed)", `answered "yes": ecss2, ecss4`, "2 ping → cable=yes")
}

// BenchmarkDivergenceView renders one frame of the whole screen (status
// bar with 1 000 bound hosts included) with the divergence view open over
// 1 000 hosts in six groups, one of them waiting; and builds the view (once
// per p press).
func BenchmarkDivergenceView(b *testing.B) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		b.Run(fmt.Sprintf("1000-hosts-%dx%d", sz[0], sz[1]), func(b *testing.B) {
			rb := loadRunbook(b, "per-host.yaml")
			paths, waiting := thousandPaths()
			var hosts []engine.Host
			for _, p := range paths {
				hosts = append(hosts, engine.Host{Role: "nodes", Name: p.Host})
			}
			st := styles.DefaultStyles(true)
			m := New(context.Background(), Config{Runbook: rb, Styles: &st,
				Options: engine.Options{Executor: enginetest.New(), Targets: map[string][]engine.Host{"nodes": hosts}}})
			b.Cleanup(m.pump.close)
			m.paths = divergence.New(rb, paths, waiting, styles.DefaultStyles(true))
			m.overlay = overlayPaths
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			medianMs(b, func() { _ = m.View() })
		})
	}
	b.Run("build-1000-hosts", func(b *testing.B) {
		rb := loadRunbook(b, "per-host.yaml")
		paths, waiting := thousandPaths()
		medianMs(b, func() { _ = divergence.New(rb, paths, waiting, styles.DefaultStyles(true)) })
	})
}

func thousandPaths() ([]engine.HostPath, []engine.LaneGroup) {
	shapes := [][]engine.PathStep{
		{{Step: "ping"}, {Step: "core"}},
		{{Step: "ping"}, {Step: "cable", Answer: "yes"}},
		{{Step: "ping"}, {Step: "cable", Answer: "no"}},
		{{Step: "ping"}, {Step: "cable"}},
		{{Step: "ping"}},
		{{Step: "ping"}, {Step: "core"}, {Step: "cable", Answer: "no"}},
	}
	var paths []engine.HostPath
	wait := engine.LaneGroup{Step: "cable", Kind: engine.PromptAsk}
	for i := range 1000 {
		k := 0
		switch {
		case i%50 == 7:
			k = 1 + i%5
		case i%97 == 3:
			k = 3
		}
		name := fmt.Sprintf("ecss-node-%04d.site-a.example.net", i)
		paths = append(paths, engine.HostPath{Host: name, Steps: shapes[k]})
		if k == 3 {
			wait.Hosts = append(wait.Hosts, name)
		}
	}
	return paths, []engine.LaneGroup{wait}
}

// TestRetryOnlyFailedHosts: on a group where one host's connection reset,
// f retries that host alone and the route is decided over all of them.
func TestRetryOnlyFailedHosts(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Host: "ecss3", Match: `^systemctl`, Err: errors.New("read tcp 127.0.0.1:40122: connection reset by peer"), Times: 1},
		enginetest.Rule{Match: `^systemctl`, Stdout: "active\n"},
	)
	h := newHarness(t, "group-status.yaml", fake, withTargets("nodes", "ecss1", "ecss2", "ecss3"))
	h.settle()
	h.press("enter")
	h.wantPrompt(engine.PromptError, "status")
	h.mustSee("f retries only the hosts that failed")
	h.press("f")
	h.wantPrompt(engine.PromptDecided, "status")
	var on []string
	for _, c := range fake.Calls() {
		on = append(on, c.Host)
	}
	if len(on) != 4 || on[3] != "ecss3" {
		t.Fatalf("calls %v: the retry must go to ecss3 alone", strings.Join(on, ","))
	}
	h.mustSee("→ done")
}

// TestRolloutInTheTUI: the canary runs alone, then the rollout asks
// before the rest; continuing changes the others in a batch; the screen
// shows the rollout's question and its two answers.
func TestRolloutInTheTUI(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: `^systemctl restart`},
		enginetest.Rule{Match: `^systemctl is-active`, Stdout: "active\n"},
	)
	h := newHarness(t, "rollout.yaml", fake, withTargets("nodes", "ecss1", "ecss2", "ecss3"))
	h.settle()
	h.wantPrompt(engine.PromptConfirm, "restart")
	h.press("y")
	h.typeText("3")
	h.press("enter")
	h.wantPrompt(engine.PromptAsk, "restart")
	h.mustSee("canary ecss1 done (verified); 2 hosts to go", "continue", "the next batch", "stop")
	var restarted []string
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Script, "systemctl restart") {
			restarted = append(restarted, c.Host)
		}
	}
	if strings.Join(restarted, ",") != "ecss1" {
		t.Fatalf("before the answer the fix ran on %v, want the canary alone", restarted)
	}
	h.press("1") // continue
	for range 5 {
		if h.prompt() == engine.PromptEnd {
			break
		}
		h.press("enter")
	}
	if h.prompt() != engine.PromptEnd || h.m.result.Outcome != engine.OutcomeResolved {
		t.Fatalf("did not resolve:\n%s", h.screen())
	}
	if n := len(fake.Calls()); n != 6 {
		t.Errorf("%d commands, want 3 restarts and 3 verifications", n)
	}
}
