package run

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/bundle"
	"github.com/runbook-dev/runbook/internal/engine"
)

// bundleRun is the session's bundle. It is finalised exactly once: from
// the TUI (its final screen, or the quit dialog), or by the finish path.
type bundleRun struct {
	w *bundle.Writer
	// beforeClose runs just before the bundle is finalised, from either
	// path: what the transport learned (verified host keys) goes in.
	beforeClose func()
	mu          sync.Mutex // export runs in a TUI command goroutine
	done        bool
	path        string
	err         error
}

// openBundle opens the bundle when one is wanted (--bundle, or any
// interactive session). Nothing dials here: the clock-skew probe is a
// pre-step.
func (l *lifecycle) openBundle() error {
	o := l.o
	bo := o.Bundle
	if bo.Path == "" && o.Interactive && bo.DefaultDir != nil {
		dir, err := bo.DefaultDir()
		if err != nil {
			return &ExitError{Code: auto.ExitFailure, Err: err}
		}
		bo.Path = dir
	}
	if bo.NoRedact && bo.Pseudonymise {
		return Usage("--pseudonymise needs redaction (it is done in the same pass): drop --no-redact")
	}
	if bo.Path == "" {
		if bo.NoRedact || bo.Pseudonymise || bo.MaxBytes != 0 || bo.MaxFileBytes != 0 {
			return Usage("--no-redact, --pseudonymise and --bundle-max-* need --bundle PATH")
		}
		return nil
	}
	w, err := bundle.New(bundle.Options{
		Path: bo.Path, Runbook: o.Runbook, Targets: o.Targets, ToolVersion: o.ToolVersion,
		NoRedact: bo.NoRedact, Pseudonymise: bo.Pseudonymise, Secrets: SecretValues(o.Runbook, o.Params),
		MaxBytes: bo.MaxBytes, MaxFileBytes: bo.MaxFileBytes,
	})
	if err != nil {
		return &ExitError{Code: auto.ExitFailure, Err: err}
	}
	if bo.NoRedact {
		fmt.Fprintf(o.Stderr, "runbook: warning: --no-redact: %s will hold secrets as collected\n", w.Name())
	}
	l.sopts.Collector = w
	l.bundle = &bundleRun{w: w, beforeClose: l.recordHostKeys}
	return nil
}

// SecretValues are the values of secret params as given or defaulted, so
// they are masked even before a session exists.
func SecretValues(rb *engine.Runbook, params map[string]string) []string {
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
			if h.IsLocal() || seen[h.Name] || ctx.Err() != nil {
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

// secrets gives the bundle the session's exact secrets.
func (b *bundleRun) secrets(s *engine.Session) {
	_ = b.w.SetSecrets(append(b.w.Secrets(), s.Secrets()...))
}

// export finalises the bundle from the TUI and returns where it went.
// Idempotent: a second call returns the first result.
func (b *bundleRun) export(ctx context.Context, s *engine.Session) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return b.path, b.err
	}
	b.done = true
	b.secrets(s)
	if b.beforeClose != nil {
		b.beforeClose()
	}
	ended, outcome, msg := s.Ended()
	fin := bundle.Final{Outcome: string(outcome), Message: msg, Interrupted: ctx.Err() != nil, Divergence: s.Divergences()}
	if !ended {
		fin.Outcome = string(engine.OutcomeAborted)
	}
	b.path, b.err = b.w.Close(ctx, fin)
	return b.path, b.err
}

// closeWith finalises the bundle unless the TUI already did, and says where
// it went (in res too, for unattended runs).
func (b *bundleRun) closeWith(ctx context.Context, fin bundle.Final, stderr io.Writer, res *auto.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	if b.beforeClose != nil {
		b.beforeClose()
	}
	b.path, b.err = b.w.Close(ctx, fin)
	if b.err != nil {
		fmt.Fprintf(stderr, "runbook: bundle: %v\n", b.err)
		if res != nil {
			res.Errors = append(res.Errors, "bundle: "+b.err.Error())
		}
		return
	}
	if res != nil {
		res.Bundle = b.path
	}
	fmt.Fprintf(stderr, "bundle %s\n", b.path)
	if m := b.w.PseudonymMap(); m != "" {
		if res != nil {
			res.PseudonymMap = m
		}
		fmt.Fprintf(stderr, "pseudonym map %s (private: it turns the bundle's stand-ins back into real addresses and host names; keep it, do not send it)\n", m)
	}
}

// final is how the bundle records the run's end.
func (l *lifecycle) final(interrupted bool) bundle.Final {
	fin := bundle.Final{Interrupted: interrupted, Err: l.failure}
	if l.session != nil {
		fin.Divergence = l.session.Divergences()
	}
	if res := l.result; res != nil {
		fin.Outcome, fin.Message = string(res.Outcome), res.Message
		fin.Interrupted = fin.Interrupted || res.Outcome == auto.Interrupted
		if res.Outcome == auto.Failed && len(res.Errors) > 0 && fin.Err == nil {
			fin.Err = fmt.Errorf("%s", strings.Join(res.Errors, "; "))
		}
		return fin
	}
	if s := l.session; s != nil {
		if ended, outcome, msg := s.Ended(); ended {
			fin.Outcome, fin.Message = string(outcome), msg
		} else if interrupted {
			fin.Outcome = string(auto.Interrupted)
		}
	}
	return fin
}
