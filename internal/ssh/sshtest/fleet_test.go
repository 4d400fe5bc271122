package sshtest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

const fleetScenario = `
scenario: two-hosts
runbook: x
targets: {active: node-a, standby: node-b}
hosts:
  node-a:
    commands:
      - match: '^ping .* 10\.0\.0\.6$'
        stdout: "3 packets transmitted, 0 received\n"
        exit: 1
        times: 1
      - match: '^ping '
        stdout: "3 packets transmitted, 3 received\n"
    files:
      /var/log/app/app.log: {content: "line1\nline2\nline3\n", age: 5m}
      /var/log/app/old.log: {content: "old\n", age: 48h}
      /var/log/app/big.log: {size: 100000, age: 1m}
      /var/log/app/escape.log: {link: /etc/shadow}
  node-b:
    commands:
      - match: '^hostname$'
        stdout: "node-b\n"
`

type memCollector struct {
	files   map[string]string
	meta    map[string]engine.RemoteFile
	skipped map[string]string
}

func newMemCollector() *memCollector {
	return &memCollector{files: map[string]string{}, meta: map[string]engine.RemoteFile{}, skipped: map[string]string{}}
}

func (c *memCollector) File(ctx context.Context, h engine.Host, step string, f engine.RemoteFile, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.files[f.Path], c.meta[f.Path] = string(b), f
	return nil
}

func (c *memCollector) Skipped(h engine.Host, step string, f engine.RemoteFile, status, reason string) {
	c.skipped[f.Path] = status + ": " + reason
}

func (c *memCollector) Command(h engine.Host, step, cmd string) engine.CommandSink { return nil }

func TestFleetRunsScenarioOverSSH(t *testing.T) {
	s, err := scenario.Load("inline", []byte(fleetScenario))
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFleet(s)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Addr("node-a") == "" || f.Addr("node-b") == f.Addr("node-a") {
		t.Fatalf("addresses: %q %q", f.Addr("node-a"), f.Addr("node-b"))
	}
	ex := f.Executor()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := engine.Host{Role: "active", Name: "node-a"}
	// The script goes through `sh -c` quoting and a timeout wrapper; the
	// scenario must still see it exactly as the engine rendered it.
	script := "ping -c 3 -W 2 " + engine.ShellQuote("10.0.0.6")
	var out, errb bytes.Buffer
	res, err := ex.Run(ctx, a, engine.CommandRequest{Script: script, Timeout: 20 * time.Second}, &out, &errb)
	if err != nil || res.Exit != 1 || !strings.Contains(out.String(), "0 received") {
		t.Fatalf("first ping: res=%+v err=%v out=%q stderr=%q", res, err, out.String(), errb.String())
	}
	out.Reset()
	res, err = ex.Run(ctx, a, engine.CommandRequest{Script: script}, &out, &errb)
	if err != nil || res.Exit != 0 || !strings.Contains(out.String(), "3 received") {
		t.Fatalf("second ping (times: 1 used up): res=%+v err=%v out=%q", res, err, out.String())
	}
	out.Reset()
	res, err = ex.Run(ctx, engine.Host{Name: "node-b"}, engine.CommandRequest{Script: "hostname"}, &out, &errb)
	if err != nil || res.Exit != 0 || out.String() != "node-b\n" {
		t.Fatalf("node-b: res=%+v err=%v out=%q", res, err, out.String())
	}
	errb.Reset()
	res, err = ex.Run(ctx, engine.Host{Name: "node-b"}, engine.CommandRequest{Script: "uptime"}, &out, &errb)
	if err != nil || res.Exit != 127 || !strings.Contains(errb.String(), "uptime") {
		t.Fatalf("unknown command: res=%+v err=%v stderr=%q", res, err, errb.String())
	}

	col := newMemCollector()
	err = ex.Fetch(ctx, a, engine.FetchRequest{Step: "collect", Globs: []string{"/var/log/app/*.log"}, Since: time.Hour, MaxBytes: 1000}, col)
	if err != nil {
		t.Fatal(err)
	}
	if got := col.files["/var/log/app/app.log"]; got != "line1\nline2\nline3\n" {
		t.Errorf("app.log = %q", got)
	}
	if _, ok := col.files["/var/log/app/old.log"]; ok {
		t.Errorf("old.log (48h old) fetched despite since: 1h")
	}
	big := col.meta["/var/log/app/big.log"]
	want := string(s.Hosts["node-a"].Files["/var/log/app/big.log"].Bytes()[99000:])
	if !big.Truncated() || big.Offset != 99000 || col.files["/var/log/app/big.log"] != want {
		t.Errorf("big.log: offset %d, %d bytes, tail matches: %v", big.Offset, len(col.files["/var/log/app/big.log"]), col.files["/var/log/app/big.log"] == want)
	}
	if r := col.skipped["/var/log/app/escape.log"]; !strings.Contains(r, "/etc/shadow") || !strings.Contains(r, "not followed") {
		t.Errorf("symlink: skipped = %q, files has it: %v", r, col.files["/var/log/app/escape.log"] != "")
	}
}
