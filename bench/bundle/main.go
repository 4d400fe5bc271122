// Command bundlebench generates a directory of mixed log files and collects
// it into a finished bundle through the Local executor or the SSH executor
// (SFTP from a real sshd on loopback), reporting wall time, peak RSS and
// the archive's size. run.sh runs it next to scp -r and tar for comparison.
package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ssh"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bundlebench gen|collect [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "collect":
		err = collect(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundlebench:", err)
		os.Exit(1)
	}
}

var words = strings.Fields("request handled user session cache miss hit backend upstream timeout retry connection pool worker queue flush commit checkpoint replica leader follower heartbeat GET POST /api/v1/items /health db.query shard rebalance")

// logLines writes about n bytes of plausible log lines; one line in 5000
// carries a secret so that redaction has something to do.
func logLines(w interface{ Write([]byte) (int, error) }, n int64, r *rand.Rand, noisy bool) {
	t := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	var written int64
	for i := 0; written < n; i++ {
		b.Reset()
		t = t.Add(time.Duration(r.IntN(900)) * time.Millisecond)
		lvl := []string{"INFO ", "INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"}[r.IntN(6)]
		fmt.Fprintf(&b, "%s %s [worker-%d] %s", t.Format("2006-01-02 15:04:05.000"), lvl, r.IntN(16), words[r.IntN(len(words))])
		for k := 0; k < 4+r.IntN(8); k++ {
			b.WriteByte(' ')
			b.WriteString(words[r.IntN(len(words))])
		}
		fmt.Fprintf(&b, " id=%08x took=%dms from 10.%d.%d.%d", r.Uint32(), r.IntN(5000), r.IntN(256), r.IntN(256), r.IntN(256))
		if noisy {
			fmt.Fprintf(&b, " trace=%016x%016x", r.Uint64(), r.Uint64())
		}
		if i%5000 == 4999 {
			fmt.Fprintf(&b, " password=s3cr%06d", r.IntN(1000000))
		}
		b.WriteByte('\n')
		k, _ := w.Write([]byte(b.String()))
		written += int64(k)
	}
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to create")
	sizeS := fs.String("size", "256MiB", "approximate total size")
	fs.Parse(args)
	size, err := engine.ParseSize(*sizeS)
	if err != nil || *dir == "" {
		return fmt.Errorf("gen: need -dir and a valid -size")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	// 200 files: 180 small text logs (~20%), 4 large (~65%), 16 already
	// gzipped (~15% of the bytes on disk).
	write := func(name string, n int64, gz bool) error {
		f, err := os.Create(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		defer f.Close()
		if gz {
			z, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
			logLines(z, n, r, true)
			return z.Close()
		}
		logLines(f, n, r, false)
		return nil
	}
	small := size / 5 / 180
	for i := range 180 {
		if err := write(fmt.Sprintf("app-%03d.log", i), small/2+r.Int64N(small), false); err != nil {
			return err
		}
	}
	for i := range 4 {
		if err := write(fmt.Sprintf("big-%d.log", i), size*65/100/4, false); err != nil {
			return err
		}
	}
	for i := range 16 {
		// noisy lines compress about 2.5x at level 1
		if err := write(fmt.Sprintf("rotated-%02d.log.gz", i), size*15/100/16*5/2, true); err != nil {
			return err
		}
	}
	return nil
}

func collect(args []string) error {
	fs := flag.NewFlagSet("collect", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to collect (absolute)")
	out := fs.String("out", "", "output directory for the bundle")
	addr := fs.String("ssh", "", "collect over SSH from this 127.0.0.1:port instead of locally")
	ident := fs.String("identity", "", "SSH private key")
	known := fs.String("known-hosts", "", "known_hosts for the sshd")
	user := fs.String("user", "root", "SSH user")
	noRedact := fs.Bool("no-redact", false, "store as collected")
	verify := fs.Bool("verify", true, "verify the bundle afterwards (timed separately)")
	fs.Parse(args)
	rb := &engine.Runbook{ID: "bench", Title: "bundle benchmark", SHA256: strings.Repeat("0", 64)}
	h := engine.Host{Role: "host", Name: "local"}
	var ex engine.Executor = ssh.Local{}
	if *addr != "" {
		h.Name = *user + "@bench"
		c, err := ssh.New(ssh.Config{
			Identities: []string{*ident}, NoAgent: true, NoDefaultIdentities: true,
			KnownHosts: []string{*known}, NoSSHConfig: true,
			Aliases: map[string]string{"bench": *addr},
		})
		if err != nil {
			return err
		}
		defer c.Close()
		ex = c
	}
	w, err := bundle.New(bundle.Options{Path: *out, Runbook: rb, Targets: map[string][]engine.Host{"host": {h}}, ToolVersion: "bench", NoRedact: *noRedact})
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	ferr := ex.Fetch(ctx, h, engine.FetchRequest{Step: "collect", Globs: []string{filepath.Join(*dir, "*")}}, w)
	w.Event(engine.Event{Seq: 1, Time: time.Now(), Type: engine.EvSessionEnd, Outcome: engine.OutcomeEscalated})
	path, err := w.Close(ctx, bundle.Final{Outcome: "escalated"})
	wall := time.Since(start)
	if ferr != nil {
		return fmt.Errorf("fetch: %w", ferr)
	}
	if err != nil {
		return err
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fi, _ := os.Stat(path)
	via := "local"
	if *addr != "" {
		via = "sftp"
	}
	fmt.Printf("bundle via %-5s wall %6.2fs  peak RSS %5.1f MiB  archive %6.1f MiB  user %5.2fs sys %5.2fs\n",
		via, wall.Seconds(), float64(ru.Maxrss)/1024, float64(fi.Size())/(1<<20),
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds())
	if *verify {
		vs := time.Now()
		m, err := bundle.Verify(path)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		n := map[string]int{}
		for _, e := range m.Entries {
			n[e.Status]++
		}
		fmt.Printf("verify           wall %6.2fs  entries %v status %s\n", time.Since(vs).Seconds(), n, m.Status)
	}
	return nil
}
