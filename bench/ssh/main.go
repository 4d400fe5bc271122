package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func main() {
	n := flag.Int("n", 30, "repetitions per latency measurement (median reported)")
	files := flag.Int("files", 200, "files in the fetch data set")
	fileMiB := flag.Int("file-mib", 5, "size of each file, MiB")
	fetchChild := flag.String("fetch-child", "", "internal: fetch this remote directory into the local directory given as argument, with the Go client (config in $RUNBOOK_BENCH)")
	flag.Parse()
	if *fetchChild != "" {
		os.Exit(runFetchChild(*fetchChild, flag.Arg(0)))
	}
	if err := run(*n, *files, *fileMiB); err != nil {
		fmt.Fprintln(os.Stderr, "ssh-bench:", err)
		os.Exit(1)
	}
}

func run(n, files, fileMiB int) error {
	dir, err := os.MkdirTemp("", "runbook-ssh-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o, err := sshtest.StartOpenSSH(dir)
	if err != nil {
		return err
	}
	defer o.Close()
	ctx := context.Background()
	h := engine.Host{Name: o.Target()}
	cfg := o.Config()
	sshCfg := filepath.Join(dir, "ssh_config")
	ctl := filepath.Join(dir, "ctl")
	os.WriteFile(sshCfg, []byte(fmt.Sprintf("Host bench\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		o.Port, o.User, o.IdentityFile, o.KnownHosts)), 0o600)
	ssh := func(args ...string) error {
		out, err := exec.Command("ssh", append([]string{"-F", sshCfg}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ssh %v: %v: %s", args, err, out)
		}
		return nil
	}
	measure := func(name string, f func() error) (time.Duration, error) {
		if err := f(); err != nil { // warm-up, also checks it works
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		var d []time.Duration
		for range n {
			t := time.Now()
			if err := f(); err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			d = append(d, time.Since(t))
		}
		return median(d), nil
	}

	fmt.Printf("## per-step latency (median of %d, `true` on 127.0.0.1, %s)\n\n", n, sshdVersion())
	fmt.Println("| what | median |")
	fmt.Println("|---|---|")
	row := func(name string, d time.Duration) {
		fmt.Printf("| %s | %.1f ms |\n", name, float64(d.Microseconds())/1000)
	}

	// Cold: a new connection per step.
	d, err := measure("ssh", func() error { return ssh("bench", "true") })
	if err != nil {
		return err
	}
	row("`ssh host true` (OpenSSH defaults: sntrup761 PQ kex)", d)
	d, err = measure("ssh curve25519", func() error { return ssh("-o", "KexAlgorithms=curve25519-sha256", "bench", "true") })
	if err != nil {
		return err
	}
	row("`ssh -o KexAlgorithms=curve25519-sha256 host true` (cold reference)", d)
	coldRef := d
	d, err = measure("runbook cold", func() error { return coldStep(ctx, cfg, h) })
	if err != nil {
		return err
	}
	row("runbook cold first step (dial + auth + `sh -c` wrapper)", d)
	fmt.Printf("| cold ratio runbook / curve25519 ssh | %.2f× |\n", float64(d)/float64(coldRef))

	// Warm: ControlMaster vs our pooled connection.
	if err := ssh("-o", "ControlMaster=yes", "-o", "ControlPath="+ctl, "-o", "ControlPersist=yes", "-fN", "bench"); err != nil {
		return err
	}
	defer exec.Command("ssh", "-F", sshCfg, "-o", "ControlPath="+ctl, "-O", "exit", "bench").Run()
	d, err = measure("ssh -S", func() error { return ssh("-S", ctl, "bench", "true") })
	if err != nil {
		return err
	}
	row("`ssh -S ctl host true` over a ControlMaster (warm reference)", d)
	warmRef := d
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	d, err = measure("runbook warm", func() error { return runTrue(ctx, c, h) })
	if err != nil {
		return err
	}
	row("runbook warm step (pooled connection, new session)", d)
	fmt.Printf("| warm ratio runbook / ControlMaster | %.2f× |\n\n", float64(d)/float64(warmRef))

	// Fetch.
	remote := filepath.Join(dir, "data")
	if err := makeData(remote, files, fileMiB); err != nil {
		return err
	}
	total := float64(files*fileMiB) / 1024
	fmt.Printf("## fetch of %d files × %d MiB (%.2f GiB), loopback\n\n", files, fileMiB, total)
	fmt.Println("| what | time | throughput | client peak RSS |")
	fmt.Println("|---|---|---|---|")
	timed := func(name string, cmd *exec.Cmd) error {
		exec.Command("sync").Run()
		t := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", name, err, out)
		}
		el := time.Since(t)
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		fmt.Printf("| %s | %.2f s | %.0f MiB/s | %.1f MiB |\n", name, el.Seconds(), float64(files*fileMiB)/el.Seconds(), float64(rss)/1024)
		return nil
	}
	for i, tc := range []struct {
		name string
		cmd  func(dst string) *exec.Cmd
	}{
		{"`scp -r`", func(dst string) *exec.Cmd { return exec.Command("scp", "-q", "-r", "-F", sshCfg, "bench:"+remote, dst) }},
		{"`ssh -c aes128-gcm@openssh.com 'tar cf - dir' \\| tar xf -` (cipher ceiling)", func(dst string) *exec.Cmd {
			os.MkdirAll(dst, 0o755)
			return exec.Command("sh", "-c", fmt.Sprintf("ssh -F %s -c aes128-gcm@openssh.com bench 'tar cf - -C %s .' | tar xf - -C %s", sshCfg, remote, dst))
		}},
		{"runbook Fetch (SFTP, concurrent reads)", func(dst string) *exec.Cmd {
			os.MkdirAll(dst, 0o755)
			self, _ := os.Executable()
			cmd := exec.Command(self, "-fetch-child", remote, dst)
			cmd.Env = append(os.Environ(), "RUNBOOK_BENCH="+encodeChild(o))
			return cmd
		}},
	} {
		dst := filepath.Join(dir, "dst"+strconv.Itoa(i))
		if err := timed(tc.name, tc.cmd(dst)); err != nil {
			return err
		}
		if err := checkCopy(remote, dst, files); err != nil {
			return fmt.Errorf("%s: %w", tc.name, err)
		}
		os.RemoveAll(dst)
	}
	return nil
}

func sshdVersion() string {
	out, _ := exec.Command("ssh", "-V").CombinedOutput()
	return strings.TrimSpace(string(out))
}

// makeData writes incompressible files (random bytes).
func makeData(dir string, files, mib int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, mib<<20)
	for i := range files {
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.log", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// checkCopy verifies the copy has every file at full size (scp -r puts
// the directory itself under dst).
func checkCopy(src, dst string, files int) error {
	m, _ := filepath.Glob(filepath.Join(dst, "f*.log"))
	if len(m) == 0 {
		m, _ = filepath.Glob(filepath.Join(dst, "*", "f*.log"))
	}
	if len(m) != files {
		return fmt.Errorf("copied %d files, want %d", len(m), files)
	}
	for _, p := range m {
		a, err1 := os.Stat(p)
		b, err2 := os.Stat(filepath.Join(src, filepath.Base(p)))
		if err1 != nil || err2 != nil || a.Size() != b.Size() {
			return fmt.Errorf("%s: size differs", p)
		}
	}
	return nil
}
