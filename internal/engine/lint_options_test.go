package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestLintOptionInjection: lint warns where a param that may start with
// '-' lands where the command reads options, and only there.
func TestLintOptionInjection(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		warn bool
	}{
		{"wc -l {{ params.f }}", true},
		{"wc -l -- {{ params.f }}", false},
		{"wc {{ params.f }}", true},
		{`wc -l "{{ params.f }}"`, true},
		{"wc -l /etc/hosts {{ params.f }}", true}, // GNU permutes options
		{"grep -F x /dev/null; cat {{ params.f }}", true},
		{"grep -- x /dev/null; cat {{ params.f }}", true}, // the -- was another command's
		{"echo $(cat {{ params.f }})", true},
		{"x=$(ls) cat -- {{ params.f }}", false},
		{"cat /srv/{{ params.f }}", false},
		{"curl --url={{ params.f }}", false},
		{"cat x-{{ params.f }}", false},
		{"{{ params.f }}", false},                      // the command itself: not an option
		{"echo done > {{ params.f }}", false},          // a redirection target
		{"cat {{ params.p }}", false},                  // typed: Validate refuses '-'
		{"cat {{ params.safe }}", false},               // pattern cannot start with '-'
		{"cat {{ params.unsafe }}", true},              // pattern can
		{`cat {{ params["f"] }}`, true},                // index form
		{"if true; then cat {{ params.f }}; fi", true}, // after a keyword
		{"sudo -n cat {{ params.safe }}", false},
	} {
		src := fmt.Sprintf(`runbook: 1
id: t
title: T
targets: {h: {description: H}}
params:
  f: {type: string, description: F, default: x}
  p: {type: path, description: P, default: /x}
  safe: {type: string, pattern: '[a-z][a-z0-9-]*', description: S, default: x}
  unsafe: {type: string, pattern: '[a-z0-9-]+', description: U, default: x}
steps:
  - id: s
    run: {on: h, cmd: %q}
    next: e
  - id: e
    end: resolved
`, c.cmd)
		rb, err := engine.Load("t.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.cmd, err)
		}
		var got []string
		for _, d := range engine.Lint(rb) {
			if strings.Contains(d.Message, "reads options") {
				got = append(got, d.String())
			}
		}
		if (len(got) > 0) != c.warn {
			t.Errorf("%s: warned=%v, want %v %v", c.cmd, len(got) > 0, c.warn, got)
		}
		if c.warn && len(got) > 0 && !strings.Contains(got[0], "t.yaml:12:") {
			t.Errorf("%s: warning not at the command's line: %s", c.cmd, got[0])
		}
	}
}

// A capture is text the host printed: `kill -9 {{ steps.find.pid }}` with
// a pid of "-1" would kill every process the account can. Lint warns unless
// the capture's group cannot start with '-' or a `--` comes first.
func TestLintOptionInjectionCaptures(t *testing.T) {
	for _, c := range []struct {
		capture, cmd string
		warn         bool
	}{
		{`'pid=(\S+)'`, `kill -9 {{ steps.find.pid }}`, true},
		{`'pid=(\S+)'`, `kill -9 -- {{ steps.find.pid }}`, false},
		{`'pid=(\d+)'`, `kill -9 {{ steps.find.pid }}`, false},
		{`'pid=(?P<pid>[0-9]+) name=(\S+)'`, `kill -9 {{ steps["find"].pid }}`, false},
		{`'name=(\S+) pid=(?P<pid>-?\d+)'`, `kill -9 {{ steps['find'].pid }}`, true},
		{`'res=([A-Za-z0-9_][\w.-]*)'`, `drbdadm connect {{ steps.find.pid }}`, false},
	} {
		src := fmt.Sprintf(`runbook: 1
id: t
title: T
targets: {h: {description: H}}
steps:
  - id: find
    run: {on: h, cmd: "ps"}
    capture: {pid: %s}
    next: s
  - id: s
    run: {on: h, cmd: %q}
    next: e
  - id: e
    end: resolved
`, c.capture, c.cmd)
		rb, err := engine.Load("t.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.cmd, err)
		}
		var got []string
		for _, d := range engine.Lint(rb) {
			if strings.Contains(d.Message, "reads options") {
				got = append(got, d.String())
			}
		}
		if (len(got) > 0) != c.warn {
			t.Errorf("%s %s: warned=%v, want %v %v", c.capture, c.cmd, len(got) > 0, c.warn, got)
		}
		if c.warn && len(got) > 0 && !strings.Contains(got[0], "capture's pattern") {
			t.Errorf("the hint does not say how to fix a capture: %s", got[0])
		}
	}
}
