package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adrg/xdg"
	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
)

// bundleOptions are the bundle flags of `runbook run`.
type bundleOptions struct {
	path         string
	noRedact     bool
	maxBytes     string
	maxFileBytes string
	noSkew       bool
}

func addBundleFlags(f *pflag.FlagSet, o *bundleOptions) {
	f.StringVar(&o.path, "bundle", "", "write a log bundle (tar.gz + .sha256) at the end, even on failure or Ctrl-C: a directory or a file name")
	f.BoolVar(&o.noRedact, "no-redact", false, "do not mask secrets in the bundle (its name says UNREDACTED)")
	f.StringVar(&o.maxBytes, "bundle-max-bytes", "", "cap on all bytes stored in the bundle (e.g. 2GiB; default 4GiB)")
	f.StringVar(&o.maxFileBytes, "bundle-max-file-bytes", "", "per-file cap; larger text files keep their tail (default 256MiB)")
	f.BoolVar(&o.noSkew, "bundle-no-clock-skew", false, "do not run `date` on remote hosts to record their clock skew")
}

// bundleRun is one --bundle export attached to a session. A nil *bundleRun
// (no --bundle) is valid and does nothing.
type bundleRun struct {
	w    *bundle.Writer
	mu   sync.Mutex // export runs in a TUI command goroutine
	done bool
	path string
	err  error
}

// startBundle opens the bundle when --bundle is given and attaches it to the
// session options: it collects, and sees every event through sinks.
func startBundle(ctx context.Context, o *runOptions, rb *engine.Runbook, sopts *engine.Options, sinks *[]func(engine.Event)) (*bundleRun, error) {
	bo := o.bundle
	if bo.path == "" {
		if bo.noRedact || bo.maxBytes != "" || bo.maxFileBytes != "" {
			return nil, usageErr("--no-redact and --bundle-max-* need --bundle PATH")
		}
		return nil, nil
	}
	opts := bundle.Options{
		Path: bo.path, Runbook: rb, Targets: sopts.Targets, ToolVersion: version,
		NoRedact: bo.noRedact, Secrets: secretValues(rb, sopts.Params),
	}
	for _, s := range []struct {
		flag, val string
		dst       *int64
	}{{"--bundle-max-bytes", bo.maxBytes, &opts.MaxBytes}, {"--bundle-max-file-bytes", bo.maxFileBytes, &opts.MaxFileBytes}} {
		if s.val == "" {
			continue
		}
		n, err := engine.ParseSize(s.val)
		if err != nil || n <= 0 {
			return nil, usageErr("%s %q: want a size such as 512MiB", s.flag, s.val)
		}
		*s.dst = n
	}
	w, err := bundle.New(opts)
	if err != nil {
		return nil, &exitError{code: auto.ExitFailure, err: err}
	}
	if bo.noRedact {
		fmt.Fprintf(o.stderr, "runbook: warning: --no-redact: %s will hold secrets as collected\n", w.Name())
	}
	if !bo.noSkew && sopts.Executor != nil {
		measureSkew(ctx, w, sopts.Executor, sopts.Targets)
	}
	sopts.Collector = w
	*sinks = append(*sinks, w.Event)
	return &bundleRun{w: w}, nil
}

// secretValues are the values of secret params as given or defaulted, so
// they are masked even before a session exists (the TUI builds its own).
func secretValues(rb *engine.Runbook, params map[string]string) []string {
	var out []string
	for _, p := range rb.Params {
		if !p.Secret {
			continue
		}
		if v, ok := params[p.Name]; ok && v != "" {
			out = append(out, v)
		} else if p.HasDefault && p.Default != "" && !strings.Contains(p.Default, "{{") {
			out = append(out, p.Default)
		}
	}
	return out
}

// measureSkew records remote minus local clock per remote host: `since`
// windows are evaluated on the remote clock, and a support engineer lining
// up timestamps needs to know how far apart the clocks were. One read-only
// `date` per host, bounded; failures are simply not recorded.
func measureSkew(ctx context.Context, w *bundle.Writer, ex engine.Executor, targets map[string][]engine.Host) {
	seen := map[string]bool{}
	for _, role := range engine.SortedKeys(targets) {
		for _, h := range targets[role] {
			if h.IsLocal() || seen[h.Name] {
				continue
			}
			seen[h.Name] = true
			var out strings.Builder
			before := time.Now()
			res, err := ex.Run(ctx, h, engine.CommandRequest{Step: "bundle-clock", Script: "date -u +%s", Timeout: 5 * time.Second}, &out, io.Discard)
			after := time.Now()
			if err != nil || res.Exit != 0 {
				continue
			}
			secs, perr := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
			if perr != nil {
				continue
			}
			mid := before.Add(after.Sub(before) / 2)
			skew := time.Unix(secs, 0).Sub(mid).Round(time.Second)
			w.SetHost(h.Name, bundle.HostInfo{ClockSkew: &skew})
		}
	}
}

// sessionStarted gives the bundle the session's exact secrets.
func (b *bundleRun) sessionStarted(s *engine.Session) {
	if b == nil {
		return
	}
	_ = b.w.SetSecrets(append(b.w.Secrets(), s.Secrets()...))
}

// finish finalises the bundle after an unattended run and records its path
// in the result. Interrupted runs still get one, marked incomplete.
func (b *bundleRun) finish(ctx context.Context, o *runOptions, res *auto.Result) {
	if b == nil || b.done {
		return
	}
	b.done = true
	fin := bundle.Final{Outcome: string(res.Outcome), Message: res.Message, Interrupted: res.Outcome == auto.Interrupted || ctx.Err() != nil}
	if res.Outcome == auto.Failed && len(res.Errors) > 0 {
		fin.Err = fmt.Errorf("%s", strings.Join(res.Errors, "; "))
	}
	path, err := b.w.Close(ctx, fin)
	if err != nil {
		res.Errors = append(res.Errors, "bundle: "+err.Error())
		fmt.Fprintf(o.stderr, "runbook: bundle: %v\n", err)
		return
	}
	res.Bundle = path
	fmt.Fprintf(o.stderr, "bundle %s\n", path)
}

// close finalises a bundle that finish did not (an early return, the TUI
// path), marked incomplete when err says the run failed.
func (b *bundleRun) close(ctx context.Context, o *runOptions, err error) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	fin := bundle.Final{Err: err, Interrupted: ctx.Err() != nil}
	path, cerr := b.w.Close(ctx, fin)
	if cerr != nil {
		fmt.Fprintf(o.stderr, "runbook: bundle: %v\n", cerr)
		return
	}
	fmt.Fprintf(o.stderr, "bundle %s\n", path)
}

// export finalises the bundle from the TUI (its final screen exports
// automatically, the quit dialog on request) and returns where it went.
// Idempotent: a second call returns the first result.
func (b *bundleRun) export(ctx context.Context, s *engine.Session) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return b.path, b.err
	}
	b.done = true
	_ = b.w.SetSecrets(append(b.w.Secrets(), s.Secrets()...))
	ended, outcome, msg := s.Ended()
	fin := bundle.Final{Outcome: string(outcome), Message: msg, Interrupted: ctx.Err() != nil}
	if !ended {
		fin.Outcome = string(engine.OutcomeAborted)
	}
	b.path, b.err = b.w.Close(ctx, fin)
	return b.path, b.err
}

// defaultBundleDir is where interactive sessions write their bundle when
// --bundle is not given: every session ends with one.
func defaultBundleDir() (string, error) {
	dir := filepath.Join(xdg.StateHome, "runbook", "bundles")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create bundle directory: %w", err)
	}
	return dir, nil
}
