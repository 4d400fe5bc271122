package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func startSSHD(b *testing.B) *sshtest.OpenSSH {
	b.Helper()
	o, err := sshtest.StartOpenSSH(b.TempDir())
	if errors.Is(err, sshtest.ErrNoSSHD) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { o.Close() })
	return o
}

// BenchmarkWarmStep: one step on a pooled connection (a new session,
// `sh -c` wrapper, exit status), the cost of every step after the first.
func BenchmarkWarmStep(b *testing.B) {
	o := startSSHD(b)
	c, err := newClient(o.Config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	h := engine.Host{Name: o.Target()}
	ctx := context.Background()
	if err := runTrue(ctx, c, h); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := runTrue(ctx, c, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdStep: dial, key exchange, auth and one step.
func BenchmarkColdStep(b *testing.B) {
	o := startSSHD(b)
	h := engine.Host{Name: o.Target()}
	ctx := context.Background()
	for b.Loop() {
		if err := coldStep(ctx, o.Config(), h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetch: 20 files of 4 MiB over SFTP into a local directory.
func BenchmarkFetch(b *testing.B) {
	o := startSSHD(b)
	src := filepath.Join(o.Dir, "data")
	if err := makeData(src, 20, 4); err != nil {
		b.Fatal(err)
	}
	h := engine.Host{Name: o.Target()}
	b.SetBytes(20 << 22)
	for b.Loop() {
		dst := b.TempDir()
		n, _, err := fetchDir(context.Background(), o.Config(), h, src, dst)
		if err != nil || n != 20 {
			b.Fatal(n, err)
		}
		os.RemoveAll(dst)
	}
}
