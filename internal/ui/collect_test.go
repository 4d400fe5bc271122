package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/output"
)

// denyingFake is the scripted fake plus a file the transport may not read.
type denyingFake struct{ *enginetest.Fake }

func (f denyingFake) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	for _, g := range req.Globs {
		if g == "/var/log/secure" {
			c.Skipped(h, req.Step, engine.RemoteFile{Path: g, Size: 4096}, "denied", "permission denied")
			return nil
		}
	}
	return f.Fake.Fetch(ctx, h, req, c)
}

func collectFake() *enginetest.Fake {
	fake := enginetest.New(enginetest.Rule{Match: `^journalctl -u app -n 50$`, Stdout: "app[1]: boom\n"})
	fake.Files = map[string]map[string]string{"local": {"/var/log/app/a.log": "short\n", "/var/log/app/b.log": "0123456789abcdef\n"}}
	return fake
}

// TestCollectStepIsVisible: the plan before, the result table after (with
// skipped, denied and empty globs and why), and the walk waits on it; no
// `e edit` is offered where there is nothing to edit.
func TestCollectStepIsVisible(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 50}} {
		fake := collectFake()
		h := newHarness(t, "collect.yaml", fake, func(c *Config) { c.Options.Executor = denyingFake{fake} })
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		h.settle()
		h.wantPrompt(engine.PromptRun, "gather")
		h.mustSee("collects from local:", "files  /var/log/app/*.log /var/log/none/*.gz", "changed within 20m", "files  /var/log/secure",
			"output of  journalctl -u app -n 50", "Ready to collect from local.", "enter collect")
		h.mustNotSee("e edit")
		h.press("e")
		if h.m.overlay != overlayNone {
			t.Fatal("e opened an editor on a collect step")
		}
		h.press("enter")
		h.wantPrompt(engine.PromptDecided, "gather")
		h.mustSee("host   status", "local  collected   6 B        /var/log/app/a.log", "local  tail only   8 B        /var/log/app/b.log",
			"local  empty glob", "local  denied", "collected → escalate")
		var words []string
		for _, l := range h.m.out.Lines() {
			words = append(words, strings.Fields(l.Text)...)
		}
		pane := strings.Join(words, " ")
		for _, want := range []string{"/var/log/none/*.gz — no file matched (modified within 20m)", "/var/log/secure — permission denied",
			"local collected exit 0 $ journalctl -u app -n 50", "── 2 collected · 1 tail only · 1 empty glob · 1 denied · 14 B of files"} {
			if !strings.Contains(pane, want) {
				t.Errorf("%dx%d: result table lacks %q:\n%s", sz[0], sz[1], want, pane)
			}
		}
		if p := h.m.prompt; p.Decision.Explain != "collected 2 files (14 B), 1 command output, 2 not collected → escalate" {
			t.Errorf("decision %q", p.Decision.Explain)
		}
		h.mustNotSee("r re-run")
		checkBlock(t, "collect result", h.m.render(), sz[0])
		h.press("enter")
		h.mustSee("Outcome: ESCALATED")
	}
}

// TestCollectProgressBar: while a file is read, its bytes show with a bar.
func TestCollectProgressBar(t *testing.T) {
	fake := collectFake()
	h := newHarness(t, "collect.yaml", fake)
	h.settle()
	h.send(tea.WindowSizeMsg{Width: 120, Height: 35})
	_ = h.m.act("collecting", nil) // not run: the test plays the progress
	h.m.pump.setProgress(engine.CollectProgress{Step: "gather", Host: "local", Path: "/var/log/app/big.log", Read: 1 << 20, Size: 2 << 20})
	h.send(tickMsg{run: h.m.run})
	h.mustSee("local /var/log/app/big.log", "50%", "1.0 MiB/2.0 MiB", "█", "░")
	h.m.applyEvents([]taggedEvent{{run: h.m.run, ev: engine.Event{Type: engine.EvCollect, Step: "gather", Host: "local", Path: "/var/log/app/big.log", Bytes: 2 << 20, Status: "ok"}}})
	h.send(tickMsg{run: h.m.run})
	h.mustNotSee("50%")
	h.m.cancel()
	h.m.state = stateAsking
}

// TestEveryHostLineIsLabelled: on a group, the first host's lines carry
// its name too, not only the lines after a second host spoke.
func TestEveryHostLineIsLabelled(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df -hl`, Stdout: dfFull})
	h := newHarness(t, "backup-group.yaml", fake, withParams("ticket", "INC1"), withTargets("active", "node-a", "node-b"))
	h.settle()
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "check-space")
	var unlabelled []string
	for _, l := range h.m.out.Lines() {
		if l.Kind != output.Info && !strings.HasPrefix(l.Text, "node-a │ ") && !strings.HasPrefix(l.Text, "node-b │ ") {
			unlabelled = append(unlabelled, l.Text)
		}
	}
	if len(unlabelled) > 0 {
		t.Fatalf("lines without a host label: %q", unlabelled)
	}
}
