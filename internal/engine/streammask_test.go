package engine_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// chunkExecutor writes each chunk as its own Write, as a transport does.
type chunkExecutor struct{ chunks []string }

func (c chunkExecutor) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	for _, ch := range c.chunks {
		if _, err := stdout.Write([]byte(ch)); err != nil {
			return engine.CommandResult{}, err
		}
	}
	return engine.CommandResult{Exit: 0}, nil
}

func (chunkExecutor) Fetch(context.Context, engine.Host, engine.FetchRequest, engine.Collector) error {
	return engine.ErrNotSupported
}

// A declared secret printed across chunks ("key=TOPSECRE" + "TTOKEN99")
// never appears in an output event, in whole or in part, and the output
// otherwise arrives whole (issue 13: mask the stream, not the chunk).
func TestSecretSplitAcrossChunksIsMasked(t *testing.T) {
	const src = `runbook: 1
id: s
title: s
targets:
  h: {description: host}
params:
  key: {type: string, description: a token, secret: true}
steps:
  - id: probe
    run: {on: h, cmd: "show-key"}
    next: done
  - id: done
    end: resolved
`
	rb, err := engine.Load("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, chunks := range [][]string{
		{"key=TOPSECRE", "TTOKEN99\n"},
		{"key=T", "O", "PSECRETTOKEN9", "9\nafter\n"},
		{"key=TOPSECRETTOKEN99", ""},
		{"TOPSECRETTOKEN", "X\n"}, // a prefix that turns out not to be the secret
	} {
		var data []string
		s, err := engine.NewSession(rb, engine.Options{
			Executor: chunkExecutor{chunks}, Params: map[string]string{"key": "TOPSECRETTOKEN99"},
			Targets: map[string][]engine.Host{"h": {{Role: "h", Name: "n1"}}},
			OnEvent: func(e engine.Event) {
				if e.Type == engine.EvOutput {
					data = append(data, e.Data)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advance(context.Background()); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(data, "")
		want := strings.ReplaceAll(strings.Join(chunks, ""), "TOPSECRETTOKEN99", "******")
		if all != want {
			t.Errorf("%q: output events joined = %q, want %q", chunks, all, want)
		}
		for _, d := range data {
			for n := 4; n <= len("TOPSECRETTOKEN99"); n++ {
				for i := 0; i+n <= len("TOPSECRETTOKEN99"); i++ {
					if part := "TOPSECRETTOKEN99"[i : i+n]; n >= 8 && strings.Contains(d, part) && !strings.Contains(want, part) {
						t.Errorf("%q: an output event leaks %q: %q", chunks, part, d)
					}
				}
			}
		}
	}
}

// A result whose output is over the per-step cap says so: truncated, with
// the full byte count (issue 13, output flood).
func TestResultCarriesTruncatedAndByteCount(t *testing.T) {
	rb, err := engine.Load("f.yaml", []byte("runbook: 1\nid: f\ntitle: f\ntargets:\n  h: {description: host}\nsteps:\n  - id: probe\n    run: {on: h, cmd: \"yes\"}\n    next: done\n  - id: done\n    end: resolved\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		chunks    []string
		truncated bool
	}{
		{[]string{strings.Repeat("y\n", 600), strings.Repeat("y\n", 600)}, true},
		{[]string{"short\n"}, false},
	} {
		var res engine.Event
		s, err := engine.NewSession(rb, engine.Options{
			Executor: chunkExecutor{tc.chunks}, MaxOutput: 1000,
			Targets: map[string][]engine.Host{"h": {{Role: "h", Name: "n1"}}},
			OnEvent: func(e engine.Event) {
				if e.Type == engine.EvResult {
					res = e
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advance(context.Background()); err != nil {
			t.Fatal(err)
		}
		if want := int64(len(strings.Join(tc.chunks, ""))); res.Truncated != tc.truncated || res.Bytes != want {
			t.Errorf("result truncated=%v bytes=%d, want %v %d", res.Truncated, res.Bytes, tc.truncated, want)
		}
	}
}
