// Command scale-bench measures the runbook client at fleet scale: one
// probe on N hosts (default 1 000) through the real CLI (`runbook run
// --auto`, comma-listed targets, strict host keys), against in-process
// SSH servers that live in a separate process, so the client's CPU and
// peak RSS are its own.
//
//	go run ./bench/scale -hosts 1000 -runs 3
//
// Targets (issue "Many hosts at once"): peak RSS < 250 MiB, client CPU per
// host (handshake + one step) ≤ 3 ms.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func main() {
	hosts := flag.Int("hosts", 1000, "hosts")
	runs := flag.Int("runs", 3, "runs (median reported)")
	forks := flag.Int("forks", 32, "--forks")
	serve := flag.Int("serve", 0, "internal: serve this many SSH servers, keys in the directory given as argument")
	flag.Parse()
	if *serve > 0 {
		if err := serveHosts(*serve, flag.Arg(0)); err != nil {
			fmt.Fprintln(os.Stderr, "scale-bench serve:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*hosts, *runs, *forks); err != nil {
		fmt.Fprintln(os.Stderr, "scale-bench:", err)
		os.Exit(1)
	}
}

// serveHosts starts n servers trusting dir/id.pub, writes their ports
// and host keys as JSON lines on stdout, and serves until stdin closes.
func serveHosts(n int, dir string) error {
	pub, err := os.ReadFile(filepath.Join(dir, "id.pub"))
	if err != nil {
		return err
	}
	key, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil {
		return err
	}
	hostKey, err := sshtest.NewSigner() // one host key for all: generation is not what is measured
	if err != nil {
		return err
	}
	h := sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{Stdout: "ok\n"}})
	enc := json.NewEncoder(os.Stdout)
	for range n {
		s, err := sshtest.NewServer(sshtest.Options{Handler: h, AuthorizedKeys: []gossh.PublicKey{key}, HostKey: hostKey})
		if err != nil {
			return err
		}
		enc.Encode(map[string]string{"addr": s.Addr(), "key": strings.TrimSpace(string(gossh.MarshalAuthorizedKey(hostKey.PublicKey())))})
	}
	os.Stdout.Close()
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return nil
}

const probe = `runbook: 1
id: scale-probe
title: One probe on every host
targets:
  nodes: {description: every host, group: true}
steps:
  - id: probe
    title: Is it up?
    run: {on: nodes, cmd: "echo ok", timeout: 120s}
    branches:
      - {if: 'all(results, .exit == 0 && .stdout == "ok\n")', goto: ok}
    else: failed
  - id: ok
    end: resolved
    message: All answered.
  - id: failed
    end: escalated
    message: Some did not.
`

func run(n, runs, forks int) error {
	dir, err := os.MkdirTemp("", "runbook-scale-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "runbook")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/runbook").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	self := filepath.Join(dir, "scale-bench")
	if out, err := exec.Command("go", "build", "-o", self, "./bench/scale").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	srv := exec.Command(self, "-serve", fmt.Sprint(n), dir)
	stdin, _ := srv.StdinPipe()
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); srv.Wait() }()
	var known bytes.Buffer
	var targets []string
	dec := json.NewDecoder(stdout)
	for range n {
		var h map[string]string
		if err := dec.Decode(&h); err != nil {
			return fmt.Errorf("server process: %w", err)
		}
		host, port, _ := strings.Cut(h["addr"], ":")
		fmt.Fprintf(&known, "[%s]:%s %s\n", host, port, h["key"])
		targets = append(targets, "bench@"+h["addr"])
	}
	os.WriteFile(filepath.Join(dir, "known_hosts"), known.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "probe.yaml"), []byte(probe), 0o600)
	os.MkdirAll(filepath.Join(dir, "state"), 0o700)
	args := []string{"run", "probe.yaml", "--auto", "--output", "json", "--forks", fmt.Sprint(forks),
		"--target", "nodes=" + strings.Join(targets, ","), "-i", key, "--known-hosts", filepath.Join(dir, "known_hosts"), "--ssh-resolve", "builtin"}
	type sample struct {
		wall, cpu time.Duration
		rss       int64
	}
	var ss []sample
	for i := -1; i < runs; i++ {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "SSH_AUTH_SOCK=", "HOME="+dir)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		t := time.Now()
		err := cmd.Run()
		wall := time.Since(t)
		if err != nil || !strings.Contains(out.String(), `"outcome": "resolved"`) {
			return fmt.Errorf("run: %v\n%.1000s\n%.1000s", err, out.String(), errb.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if i >= 0 {
			ss = append(ss, sample{wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss})
		}
		fmt.Fprintf(os.Stderr, "  run %d: %.2fs\n", i+1, wall.Seconds())
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].cpu < ss[j].cpu })
	m := ss[len(ss)/2]
	maxRSS := int64(0)
	for _, s := range ss {
		maxRSS = max(maxRSS, s.rss)
	}
	fmt.Printf("## %d hosts, one probe, client only (servers in another process), --forks %d, %d runs\n\n", n, forks, runs)
	fmt.Println("| figure | median | target |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| wall | %.2f s | — |\n", m.wall.Seconds())
	fmt.Printf("| client CPU (user+sys) | %.2f s | — |\n", m.cpu.Seconds())
	fmt.Printf("| client CPU per host | %.2f ms | ≤ 3 ms: %s |\n", float64(m.cpu.Microseconds())/1000/float64(n), verdict(float64(m.cpu.Microseconds())/1000/float64(n) <= 3))
	fmt.Printf("| client peak RSS (max of runs) | %.0f MiB | < 250 MiB: %s |\n", float64(maxRSS)/1024, verdict(float64(maxRSS)/1024 < 250))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}
