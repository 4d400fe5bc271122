package scenario

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

const twoHosts = `
scenario: flaky
runbook: demo
targets: {single: a, group: [a, b]}
expect: {outcome: resolved, path: [x]}
hosts:
  a:
    commands:
      - {match: '^check', times: 2, exit: 1, stdout: "not yet\n"}
      - {match: '^check', stdout: "ok\n"}
      - {match: '^drop', drop: true}
    files:
      /var/log/app.log: {content: "0123456789", age: 1m}
      /var/log/old.log: {content: "old", age: 48h}
  b:
    commands:
      - {match: 'check', stdout: "b ok\n"}
`

func load(t *testing.T, src string) *Scenario {
	t.Helper()
	s, err := Load("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadRejectsUnknownKeysAndBadPatterns(t *testing.T) {
	for name, src := range map[string]string{
		"typo":     "scenario: x\nrunbook: y\nexpcet: {outcome: resolved}\n",
		"no name":  "runbook: y\n",
		"bad re":   "scenario: x\nhosts:\n  a:\n    commands:\n      - {match: '(', stdout: x}\n",
		"nil host": "scenario: x\nhosts:\n  a:\n",
	} {
		if _, err := Load(name, []byte(src)); err == nil {
			t.Errorf("%s: Load accepted %q", name, src)
		}
	}
}

func TestBindings(t *testing.T) {
	b := load(t, twoHosts).Bindings()
	if got := b["single"]; len(got) != 1 || got[0].Name != "a" || got[0].Role != "single" {
		t.Errorf("single = %+v", got)
	}
	if got := b["group"]; len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Errorf("group = %+v", got)
	}
}

// Times makes a host stateful: the first rule answers twice, then the next
// matching rule takes over for good.
func TestResponderTimes(t *testing.T) {
	r := NewResponder(load(t, twoHosts))
	var exits []int
	for range 4 {
		exits = append(exits, r.Respond("a", "check now").Exit)
	}
	if want := []int{1, 1, 0, 0}; !equal(exits, want) {
		t.Errorf("exits %v, want %v", exits, want)
	}
	if r.Respond("a", "uptime") != nil || r.Respond("nobody", "check") != nil {
		t.Error("unknown command or host got an answer")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestExecutorRun(t *testing.T) {
	ex := NewExecutor(load(t, twoHosts))
	var out, errw bytes.Buffer
	res, err := ex.Run(context.Background(), engine.Host{Name: "b"}, engine.CommandRequest{Script: "check"}, &out, &errw)
	if err != nil || res.Exit != 0 || out.String() != "b ok\n" {
		t.Errorf("b check: %+v %v %q", res, err, out.String())
	}
	out.Reset()
	res, err = ex.Run(context.Background(), engine.Host{Name: "a"}, engine.CommandRequest{Script: "rm -rf /"}, &out, &errw)
	if err != nil || res.Exit != 127 || !strings.Contains(errw.String(), "no answer for: rm -rf /") {
		t.Errorf("unscripted command: %+v %v %q", res, err, errw.String())
	}
	if _, err := ex.Run(context.Background(), engine.Host{Name: "a"}, engine.CommandRequest{Script: "drop it"}, io.Discard, io.Discard); !errors.Is(err, ErrDropped) {
		t.Errorf("drop: err %v, want ErrDropped", err)
	}
}

type memCollector struct {
	files   map[string]string
	offsets map[string]int64
}

func (c *memCollector) File(_ context.Context, _ engine.Host, _ string, f engine.RemoteFile, r io.Reader) error {
	b, err := io.ReadAll(r)
	c.files[f.Path] = string(b)
	c.offsets[f.Path] = f.Offset
	return err
}
func (c *memCollector) Skipped(engine.Host, string, engine.RemoteFile, string, string) {}
func (c *memCollector) Command(engine.Host, string, string) engine.CommandSink         { return nil }

func TestExecutorFetchSinceAndTail(t *testing.T) {
	ex := NewExecutor(load(t, twoHosts))
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	ex.Now = func() time.Time { return now }
	c := &memCollector{files: map[string]string{}, offsets: map[string]int64{}}
	err := ex.Fetch(context.Background(), engine.Host{Name: "a"}, engine.FetchRequest{Globs: []string{"/var/log/*.log"}, Since: time.Hour, MaxBytes: 4}, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.files["/var/log/old.log"]; ok {
		t.Error("a file older than since was fetched")
	}
	if got := c.files["/var/log/app.log"]; got != "6789" || c.offsets["/var/log/app.log"] != 6 {
		t.Errorf("app.log: %q at offset %d, want the 4-byte tail at 6", got, c.offsets["/var/log/app.log"])
	}
}
