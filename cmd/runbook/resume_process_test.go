package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary, built with `go build`, as a separate
// process, and kill it the way a crash or a dead laptop would.

func buildRunbook(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the runbook binary")
	}
	bin := filepath.Join(t.TempDir(), "runbook")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	t   *testing.T
	bin string
	dir string
}

func (p proc) cmd(args ...string) *exec.Cmd {
	c := exec.Command(p.bin, args...)
	c.Dir = p.dir
	c.Env = append(os.Environ(),
		"XDG_STATE_HOME="+filepath.Join(p.dir, "state"),
		"XDG_CONFIG_HOME="+filepath.Join(p.dir, "config"))
	return c
}

// run runs runbook to completion and returns its exit code, stdout, stderr.
func (p proc) run(args ...string) (int, string, string) {
	p.t.Helper()
	c := p.cmd(args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.t.Fatal(err)
	}
	return c.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// startUntil starts runbook in the background and waits until the step
// under test has created file: the process is then mid-step.
func (p proc) startUntil(file string, args ...string) *exec.Cmd {
	p.t.Helper()
	c := p.cmd(args...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		p.t.Fatal(err)
	}
	for range 1200 { // bounded: at most a minute
		if _, err := os.Stat(filepath.Join(p.dir, file)); err == nil {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = c.Process.Kill()
	_ = c.Wait()
	p.t.Fatalf("the step never started; stderr:\n%s", stderr.String())
	return nil
}

// killStep kills the sleeping command of the step (its own process group
// outlives a SIGKILLed runbook), by the pid the step wrote.
func (p proc) killStep() {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "step.pid"))
	if err != nil {
		p.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		p.t.Fatalf("step.pid: %q", b)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func (p proc) lines(name string) int {
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func (p proc) write(name, data string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(data), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p proc) onlySession() map[string]any {
	p.t.Helper()
	code, out, errOut := p.run("sessions", "--output", "json")
	if code != 0 {
		p.t.Fatalf("sessions: %d %s", code, errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		p.t.Fatalf("sessions: %v %s", err, out)
	}
	return list[0]
}

// The step that waits: records its pid, says it started, then waits for a
// `go` file (absent in the first run, present after the "reboot").
const waitCmd = `echo $$ > step.pid; touch started; test -e go || exec sleep 120`

const killRunbook = `runbook: 1
id: kill9
title: Kill -9 and resume
targets:
  host: {description: this machine}
steps:
  - id: restart
    title: Restart the service
    fix: {on: host, cmd: "echo ran >> fix-runs.txt"}
    next: slow
  - id: slow
    title: Wait for the service
    run: {on: host, cmd: "` + waitCmd + `"}
    branches: [{if: "exit == 0", goto: ok}]
    else: escalate
  - id: ok
    end: resolved
  - id: escalate
    end: escalated
`

type result struct {
	Outcome string `json:"outcome"`
	Resumed bool   `json:"resumed"`
	Session string `json:"session"`
	Stopped *struct {
		Step        string `json:"step"`
		Reason      string `json:"reason"`
		Interrupted bool   `json:"interrupted"`
	} `json:"stopped"`
	Path []struct {
		Step        string `json:"step"`
		Interrupted bool   `json:"interrupted"`
		Results     []struct {
			Exit int `json:"exit"`
		} `json:"results"`
	} `json:"path"`
}

func decode(t *testing.T, out string) result {
	t.Helper()
	var r result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("result: %v\n%s", err, out)
	}
	return r
}

// kill -9 in the middle of a probe: resume offers that step again, marked
// interrupted, and the fix that completed before it does not run again.
func TestKill9MidProbeThenResume(t *testing.T) {
	p := proc{t: t, bin: buildRunbook(t), dir: t.TempDir()}
	p.write("k.yaml", killRunbook)

	c := p.startUntil("started", "run", "k.yaml", "--target", "host=local", "--auto", "--allow-fix")
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("runbook was not killed by SIGKILL: %v", c.ProcessState)
	}
	p.killStep()
	if n := p.lines("fix-runs.txt"); n != 1 {
		t.Fatalf("fix ran %d times before the kill", n)
	}

	s := p.onlySession()
	if s["state"] != "interrupted" || s["last_step"] != "slow" {
		t.Fatalf("sessions after kill -9: %v", s)
	}

	p.write("go", "")
	code, out, errOut := p.run("resume", s["id"].(string), "--auto", "--output", "json")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	r := decode(t, out)
	if r.Outcome != "resolved" || !r.Resumed || len(r.Path) != 3 || r.Path[1].Step != "slow" || !r.Path[1].Interrupted {
		t.Fatalf("resumed result: %+v", r)
	}
	if r.Path[0].Step != "restart" || r.Path[0].Interrupted {
		t.Fatalf("the completed fix is not in the restored history: %+v", r.Path[0])
	}
	if !strings.Contains(errOut, "Wait for the service · - · INTERRUPTED earlier") {
		t.Fatalf("the interrupted step is not marked for people:\n%s", errOut)
	}
	if n := p.lines("fix-runs.txt"); n != 1 {
		t.Fatalf("the completed fix ran again on resume: %d runs", n)
	}
	if s := p.onlySession(); s["state"] != "ended" || s["outcome"] != "resolved" {
		t.Fatalf("sessions after resume: %v", s)
	}
}

// kill -9 in the middle of a fix: nobody knows how far it got, so resume
// offers it again, marked interrupted, and --auto needs --allow-fix again.
func TestKill9MidFixThenResume(t *testing.T) {
	p := proc{t: t, bin: buildRunbook(t), dir: t.TempDir()}
	p.write("f.yaml", `runbook: 1
id: killfix
title: Kill -9 during a fix
targets:
  host: {description: this machine}
steps:
  - id: migrate
    title: Migrate the data
    fix: {on: host, cmd: "echo ran >> fix-runs.txt; `+waitCmd+`"}
    next: ok
  - id: ok
    end: resolved
`)
	c := p.startUntil("started", "run", "f.yaml", "--target", "host=local", "--auto", "--allow-fix")
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
	p.killStep()
	id := p.onlySession()["id"].(string)
	p.write("go", "")

	code, out, _ := p.run("resume", id, "--auto", "--output", "json")
	r := decode(t, out)
	if code != 4 || r.Outcome != "needs-human" || r.Stopped == nil || r.Stopped.Step != "migrate" || !r.Stopped.Interrupted ||
		!strings.Contains(r.Stopped.Reason, "interrupted in an earlier run") {
		t.Fatalf("resume without --allow-fix: exit %d %+v %+v", code, r, r.Stopped)
	}
	if n := p.lines("fix-runs.txt"); n != 1 {
		t.Fatalf("the fix ran without consent: %d runs", n)
	}

	code, out, errOut := p.run("resume", id, "--auto", "--allow-fix", "--output", "json")
	r = decode(t, out)
	if code != 0 || r.Outcome != "resolved" || !r.Path[0].Interrupted {
		t.Fatalf("resume with --allow-fix: exit %d %+v\n%s", code, r, errOut)
	}
	if n := p.lines("fix-runs.txt"); n != 2 {
		t.Fatalf("fix runs: %d, want 2 (once cut off, once on consent)", n)
	}
}

// SIGINT is exit 130, with the session journaled as interrupted.
func TestSIGINTExits130(t *testing.T) {
	p := proc{t: t, bin: buildRunbook(t), dir: t.TempDir()}
	p.write("k.yaml", killRunbook)
	c := p.startUntil("started", "run", "k.yaml", "--target", "host=local", "--auto", "--allow-fix")
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code %d, want 130", code)
	}
	if s := p.onlySession(); s["state"] != "stopped" || s["outcome"] != "interrupted" {
		t.Fatalf("session: %v", s)
	}
}
