package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// dirCollector writes fetched files flat into a directory, as scp -r does.
type dirCollector struct {
	dir   string
	mu    sync.Mutex
	files int
	bytes int64
}

func (c *dirCollector) File(ctx context.Context, h engine.Host, step string, f engine.RemoteFile, r io.Reader) error {
	out, err := os.Create(filepath.Join(c.dir, path.Base(f.Path)))
	if err != nil {
		return err
	}
	n, err := io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	c.mu.Lock()
	c.files++
	c.bytes += n
	c.mu.Unlock()
	return err
}

func (c *dirCollector) Skipped(h engine.Host, step string, f engine.RemoteFile, status, reason string) {
}

func (c *dirCollector) Command(h engine.Host, step, cmd string) engine.CommandSink { return nil }

// runTrue runs `true` once and fails on anything but exit 0.
func runTrue(ctx context.Context, c *rbssh.Client, h engine.Host) error {
	res, err := c.Run(ctx, h, engine.CommandRequest{Script: "true"}, io.Discard, io.Discard)
	if err != nil {
		return err
	}
	if res.Exit != 0 {
		return fmt.Errorf("true exited %d", res.Exit)
	}
	return nil
}

// coldStep dials a fresh client, runs one step, and closes it.
func coldStep(ctx context.Context, cfg rbssh.Config, h engine.Host) error {
	c, err := rbssh.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return runTrue(ctx, c, h)
}

// fetchDir fetches remote dir/* into local dst.
func fetchDir(ctx context.Context, cfg rbssh.Config, h engine.Host, dir, dst string) (int, int64, error) {
	c, err := rbssh.New(cfg)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	col := &dirCollector{dir: dst}
	err = c.Fetch(ctx, h, engine.FetchRequest{Step: "bench", Globs: []string{dir + "/*"}}, col)
	return col.files, col.bytes, err
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration{}, d...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
