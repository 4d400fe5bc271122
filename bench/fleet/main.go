// Command fleet-bench measures runbook on many hosts against the tools
// people use for it, side by side in one run, on real OpenSSH daemons:
// N sshd on 127.0.0.1 (own ports and host keys, key auth, known_hosts
// pre-filled so host-key checking stays on), plus one bastion that keeps
// OpenSSH's default MaxStartups 10:30:100.
//
//	go run ./bench/fleet -hosts 100 -runs 3
//
// For every contender and run it records wall time, the client's CPU (the
// process and every descendant it waited for), the hosts' CPU (the sshd
// listeners' cumulative time, which their connections and shells are
// reaped into) and the client's peak RSS. Contenders run round-robin so
// drift of the shared machine hits them alike; medians are reported, and
// ratios against the reference tools of the same run.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func main() {
	hosts := flag.Int("hosts", 100, "daemons for the one-probe and bastion runs")
	stepHosts := flag.Int("step-hosts", 50, "hosts of the 10-step run (the first of -hosts)")
	runs := flag.Int("runs", 3, "runs of each contender (median reported)")
	only := flag.String("only", "", "comma list of suites to run: probe, bastion, steps (default all)")
	skipAnsible := flag.Bool("no-ansible", false, "leave out ansible (slow)")
	serve := flag.Bool("serve", false, "start the fleet, print its directory (ssh_config, hosts.ini, probe.yaml) and keep it up until stdin closes, to try commands by hand")
	flag.Parse()
	b := &bench{n: *hosts, stepN: min(*stepHosts, *hosts), runs: *runs, ansible: !*skipAnsible}
	if err := b.setup(); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-bench:", err)
		b.close()
		os.Exit(1)
	}
	defer b.close()
	if *serve {
		fmt.Printf("fleet up in %s (cd there; ssh -F ssh_config h001; %s run probe.yaml --auto --inventory hosts.ini --target nodes=@direct -F ssh_config); close stdin to stop\n", b.dir, b.runbook)
		io.Copy(io.Discard, os.Stdin)
		return
	}
	suites := map[string]bool{"probe": true, "bastion": true, "steps": true}
	if *only != "" {
		suites = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			suites[s] = true
		}
	}
	if err := b.report(suites); err != nil {
		fmt.Fprintln(os.Stderr, "fleet-bench:", err)
		b.close()
		os.Exit(1)
	}
}

type bench struct {
	n, stepN, runs int
	ansible        bool
	dir            string
	daemons        []*sshtest.OpenSSH
	bastion        *sshtest.OpenSSH
	runbook        string // built binary
	env            []string
}

// sample is one run of one contender.
type sample struct {
	wall, client, host time.Duration
	rssKiB             int64
}

func (b *bench) close() {
	for _, d := range b.daemons {
		if d != nil {
			d.Close()
		}
	}
	if b.bastion != nil {
		b.bastion.Close()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

func (b *bench) path(name string) string { return filepath.Join(b.dir, name) }

func (b *bench) setup() error {
	var err error
	if b.dir, err = os.MkdirTemp("", "runbook-fleet-bench-"); err != nil {
		return err
	}
	b.runbook = b.path("runbook")
	if out, err := exec.Command("go", "build", "-o", b.runbook, "./cmd/runbook").CombinedOutput(); err != nil {
		return fmt.Errorf("build runbook: %v: %s", err, out)
	}
	fmt.Fprintf(os.Stderr, "starting %d sshd and a bastion on 127.0.0.1...\n", b.n)
	b.daemons = make([]*sshtest.OpenSSH, b.n)
	errs := make([]error, b.n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range b.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			d := b.path(fmt.Sprintf("d%03d", i))
			if errs[i] = os.Mkdir(d, 0o700); errs[i] == nil {
				b.daemons[i], errs[i] = sshtest.StartOpenSSH(d)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	os.Mkdir(b.path("bastion"), 0o700)
	if b.bastion, err = sshtest.StartOpenSSH(b.path("bastion"), "MaxStartups 10:30:100"); err != nil {
		return err
	}
	key := b.daemons[0].IdentityFile
	auth, err := os.ReadFile(filepath.Join(b.daemons[0].Dir, "authorized_keys"))
	if err != nil {
		return err
	}
	var known, cfg, inv bytes.Buffer
	all := append([]*sshtest.OpenSSH{b.bastion}, b.daemons...)
	for _, d := range all {
		if err := os.WriteFile(filepath.Join(d.Dir, "authorized_keys"), auth, 0o600); err != nil {
			return err
		}
		k, _ := os.ReadFile(d.KnownHosts)
		known.Write(bytes.TrimSpace(k))
		known.WriteByte('\n')
	}
	fmt.Fprintf(&cfg, "Host bastion\n  HostName 127.0.0.1\n  Port %d\n", b.bastion.Port)
	var direct, behind, first []string
	for i, d := range b.daemons {
		h := fmt.Sprintf("h%03d", i+1)
		fmt.Fprintf(&cfg, "Host %s b%03d\n  HostName 127.0.0.1\n  Port %d\n", h, i+1, d.Port)
		direct = append(direct, h)
		behind = append(behind, fmt.Sprintf("b%03d", i+1))
		if i < b.stepN {
			first = append(first, h)
		}
	}
	fmt.Fprintf(&cfg, "Host b*\n  ProxyJump bastion\nHost *\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		b.bastion.User, key, b.path("known_hosts"))
	for _, g := range []struct {
		name  string
		hosts []string
	}{{"direct", direct}, {"behind", behind}, {"first", first}} {
		fmt.Fprintf(&inv, "[%s]\n%s\n", g.name, strings.Join(g.hosts, "\n"))
		if err := os.WriteFile(b.path("hosts-"+g.name), []byte(strings.Join(g.hosts, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	files := map[string]string{
		"known_hosts": known.String(), "ssh_config": cfg.String(), "hosts.ini": inv.String(),
		"probe.yaml": probeRunbook, "steps.yaml": stepsRunbook(10), "steps-playbook.yaml": stepsPlaybook(10),
	}
	for n, s := range files {
		if err := os.WriteFile(b.path(n), []byte(s), 0o600); err != nil {
			return err
		}
	}
	os.MkdirAll(b.path("state"), 0o700)
	b.env = append(os.Environ(),
		"XDG_STATE_HOME="+b.path("state"),
		"ANSIBLE_SSH_ARGS=-F "+b.path("ssh_config")+" -o ControlMaster=no",
		"ANSIBLE_HOST_KEY_CHECKING=True",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_LOCAL_TEMP="+b.path("ansible-local"),
		"ANSIBLE_REMOTE_TMP=/tmp/runbook-fleet-bench-ansible",
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_DEPRECATION_WARNINGS=False",
	)
	return nil
}

const probeRunbook = `runbook: 1
id: probe
title: One probe on every host
targets:
  nodes: {description: every host, group: true}
steps:
  - id: probe
    title: Is it up?
    run: {on: nodes, cmd: "true", timeout: 60s}
    branches:
      - {if: 'all(results, .exit == 0)', goto: ok}
    else: failed
  - id: ok
    end: resolved
    message: All answered.
  - id: failed
    end: escalated
    message: Some did not.
`

// stepsRunbook is n dependent steps: each runs only if the one before
// answered on every host.
func stepsRunbook(n int) string {
	var b strings.Builder
	b.WriteString("runbook: 1\nid: steps\ntitle: Dependent steps\ntargets:\n  nodes: {description: every host, group: true}\nsteps:\n")
	for i := 1; i <= n; i++ {
		next := fmt.Sprintf("s%d", i+1)
		if i == n {
			next = "ok"
		}
		fmt.Fprintf(&b, "  - id: s%d\n    title: Step %d\n    run: {on: nodes, cmd: \"test -d /\", timeout: 60s}\n    branches:\n      - {if: 'all(results, .exit == 0)', goto: %s}\n    else: failed\n", i, i, next)
	}
	b.WriteString("  - id: ok\n    end: resolved\n    message: done\n  - id: failed\n    end: escalated\n    message: failed\n")
	return b.String()
}

func stepsPlaybook(n int) string {
	var b strings.Builder
	b.WriteString("- hosts: first\n  gather_facts: false\n  tasks:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "    - name: step %d\n      command: test -d /\n", i)
	}
	return b.String()
}

// contender is one command line to time (run by sh -c in b.dir).
type contender struct {
	name string
	cmd  string
	ok   func(stdout string) error
}

func (b *bench) runbookCmd(rb, group string) string {
	return fmt.Sprintf("%s run %s --auto --output json --inventory hosts.ini --target nodes=@%s -F ssh_config --forks 50", b.runbook, rb, group)
}

func xargsSSH(hosts string, opts, cmd string) string {
	return fmt.Sprintf("xargs -P 50 -I{} ssh -F ssh_config %s {} %s < %s", opts, cmd, hosts)
}

func wantResolved(n int) func(string) error {
	return func(out string) error {
		if !strings.Contains(out, `"outcome": "resolved"`) {
			return fmt.Errorf("runbook did not resolve: %.400s", out)
		}
		if c := strings.Count(out, `"exit": 0`); c < n {
			return fmt.Errorf("%d of %d hosts answered exit 0", c, n)
		}
		return nil
	}
}

func (b *bench) report(suites map[string]bool) error {
	fmt.Printf("# fleet benchmark: %d real sshd on 127.0.0.1 (+1 bastion, MaxStartups 10:30:100), %d runs each, median\n\n", b.n, b.runs)
	fmt.Printf("%s; %s; %s\n\n", version("ssh", "-V"), version("parallel-ssh", "--version"), firstLine(version("ansible", "--version")))
	if suites["probe"] {
		cs := []contender{
			{"runbook", b.runbookCmd("probe.yaml", "direct"), wantResolved(b.n)},
			{"xargs -P 50 ssh (curve25519)", xargsSSH("hosts-direct", "-o KexAlgorithms=curve25519-sha256", "true"), nil},
			{"xargs -P 50 ssh (default kex)", xargsSSH("hosts-direct", "", "true"), nil},
			{"parallel-ssh -p 50", `parallel-ssh -h hosts-direct -p 50 -t 120 -x "-F ssh_config" true`, nil},
		}
		if b.ansible {
			cs = append(cs, contender{"ansible -m command -f 50", "ansible direct -i hosts.ini -f 50 -m command -a true", nil})
		}
		res, err := b.measure(cs)
		if err != nil {
			return err
		}
		fmt.Printf("## one probe on %d hosts, cold\n\n", b.n)
		b.table(res, cs, b.n)
		ref := res["xargs -P 50 ssh (curve25519)"]
		rb := res["runbook"]
		fmt.Println()
		b.target("wall vs curve25519 xargs -P 50 ssh", med(rb, wall)/med(ref, wall), 0.75)
		b.target("wall vs parallel-ssh", med(rb, wall)/med(res["parallel-ssh -p 50"], wall), 0.2)
		if b.ansible {
			b.target("wall vs ansible ad-hoc", med(rb, wall)/med(res["ansible -m command -f 50"], wall), 0.08)
		}
		b.target("whole-machine CPU per host vs bare curve25519 ssh", med(rb, total)/med(ref, total), 1.05)
		fmt.Println()
	}
	if suites["bastion"] {
		cs := []contender{
			{"runbook, direct", b.runbookCmd("probe.yaml", "direct"), wantResolved(b.n)},
			{"runbook, behind one bastion", b.runbookCmd("probe.yaml", "behind"), wantResolved(b.n)},
		}
		res, err := b.measure(cs)
		if err != nil {
			return err
		}
		fmt.Printf("## one probe on %d hosts behind one bastion (default MaxStartups), zero failures required\n\n", b.n)
		b.table(res, cs, b.n)
		fmt.Println()
		b.target("wall behind the bastion vs direct", med(res["runbook, behind one bastion"], wall)/med(res["runbook, direct"], wall), 1.3)
		fmt.Println()
	}
	if suites["steps"] {
		cm := fmt.Sprintf("-o ControlMaster=auto -o ControlPersist=60 -o ControlPath=%s/cm-%%C", b.dir)
		var loop strings.Builder
		loop.WriteString("for i in 1 2 3 4 5 6 7 8 9 10; do ")
		loop.WriteString(xargsSSH("hosts-first", cm, "test -d /"))
		loop.WriteString(" || exit 1; done")
		cs := []contender{
			{"runbook", b.runbookCmd("steps.yaml", "first"), wantResolved(b.stepN * 10)},
			{"ssh + ControlMaster, xargs -P 50 per step", loop.String(), nil},
		}
		if b.ansible {
			cs = append(cs, contender{"ansible-playbook -f 50", "ansible-playbook -i hosts.ini -f 50 steps-playbook.yaml", nil})
		}
		teardown := map[string]string{"ssh + ControlMaster, xargs -P 50 per step": xargsSSH("hosts-first", cm+" -O exit", "") + " 2>/dev/null; true"}
		res, err := b.measureWith(cs, teardown)
		if err != nil {
			return err
		}
		fmt.Printf("## 10 dependent steps on %d hosts\n\n", b.stepN)
		b.table(res, cs, b.stepN)
		fmt.Println()
		b.target("wall vs ssh + ControlMaster", med(res["runbook"], wall)/med(res["ssh + ControlMaster, xargs -P 50 per step"], wall), 0.6)
		if b.ansible {
			b.target("wall vs ansible-playbook", med(res["runbook"], wall)/med(res["ansible-playbook -f 50"], wall), 0.05)
		}
		fmt.Println()
	}
	return nil
}

func (b *bench) measure(cs []contender) (map[string][]sample, error) {
	return b.measureWith(cs, nil)
}

// measureWith runs every contender once as a warm-up (and check), then
// b.runs rounds of all of them in turn.
func (b *bench) measureWith(cs []contender, teardown map[string]string) (map[string][]sample, error) {
	res := map[string][]sample{}
	for round := -1; round < b.runs; round++ {
		for _, c := range cs {
			fmt.Fprintf(os.Stderr, "  %-45s round %d\n", c.name, round+1)
			s, out, err := b.once(c.cmd, teardown[c.name])
			if err == nil && c.ok != nil {
				err = c.ok(out)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			if round >= 0 {
				res[c.name] = append(res[c.name], s)
			}
		}
	}
	return res, nil
}

// once runs cmd and measures it; the hosts' CPU is read after their
// connections have ended and been reaped (after teardown, untimed, when
// connections outlive the command: ControlMaster).
func (b *bench) once(cmdline, teardown string) (sample, string, error) {
	before := b.hostCPU()
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir, cmd.Env = b.dir, b.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t := time.Now()
	err := cmd.Run()
	wall := time.Since(t)
	if err != nil {
		return sample{}, "", fmt.Errorf("%v\nstdout: %.2000s\nstderr: %.2000s", err, stdout.String(), stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	client := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if teardown != "" {
		td := exec.Command("sh", "-c", teardown)
		td.Dir, td.Env = b.dir, b.env
		if err := td.Run(); err == nil {
			r := td.ProcessState.SysUsage().(*syscall.Rusage)
			client += time.Duration(r.Utime.Nano() + r.Stime.Nano())
		}
	}
	host := b.settledHostCPU() - before
	return sample{wall: wall, client: client, host: host, rssKiB: ru.Maxrss}, stdout.String(), nil
}

// hostCPU sums the sshd listeners' own and reaped children's CPU.
func (b *bench) hostCPU() time.Duration {
	var sum time.Duration
	for _, d := range append([]*sshtest.OpenSSH{b.bastion}, b.daemons...) {
		sum += procCPU(d.PID())
	}
	return sum
}

// settledHostCPU waits (at most 10 s) until the hosts' CPU stops growing
// for 300 ms: connections end and are reaped shortly after the client.
func (b *bench) settledHostCPU() time.Duration {
	last := b.hostCPU()
	stable := time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		cur := b.hostCPU()
		if cur != last {
			last, stable = cur, time.Now()
		} else if time.Since(stable) >= 300*time.Millisecond {
			break
		}
	}
	return last
}

// clockTick is USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// procCPU is utime+stime+cutime+cstime of pid from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// fields after ')': state(0) ... utime(11) stime(12) cutime(13) cstime(14)
	if len(f) < 15 {
		return 0
	}
	var t int64
	for _, k := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseInt(f[k], 10, 64)
		t += v
	}
	return time.Duration(t) * clockTick
}

type metric func(sample) float64

func wall(s sample) float64  { return s.wall.Seconds() }
func total(s sample) float64 { return (s.client + s.host).Seconds() }

func med(ss []sample, m metric) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = m(s)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func (b *bench) table(res map[string][]sample, cs []contender, hosts int) {
	fmt.Println("| contender | wall (min–max) | client CPU | hosts' CPU | whole-machine CPU per host | client peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, c := range cs {
		ss := res[c.name]
		lo, hi := ss[0].wall, ss[0].wall
		for _, s := range ss {
			lo, hi = min(lo, s.wall), max(hi, s.wall)
		}
		fmt.Printf("| %s | %.2f s (%.2f–%.2f) | %.2f s | %.2f s | %.1f ms | %.0f MiB |\n", c.name, med(ss, wall), lo.Seconds(), hi.Seconds(),
			med(ss, func(s sample) float64 { return s.client.Seconds() }), med(ss, func(s sample) float64 { return s.host.Seconds() }),
			med(ss, total)*1000/float64(hosts), med(ss, func(s sample) float64 { return float64(s.rssKiB) / 1024 }))
	}
}

func (b *bench) target(what string, ratio, want float64) {
	verdict := "met"
	if ratio > want {
		verdict = "**not met**"
	}
	fmt.Printf("- %s: %.2f× (target ≤ %.2f×): %s\n", what, ratio, want, verdict)
}

func version(cmd string, args ...string) string {
	out, err := exec.Command(cmd, args...).CombinedOutput()
	if err != nil {
		return cmd + ": not installed"
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
