package bundle

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// realCollect walks a one-step collect runbook over ex with a real bundle
// Writer (through engine.Session, as a run does) and returns the verified
// manifest, the archive's members and the session's collect events.
func realCollect(t *testing.T, ex engine.Executor, hostName string, items string, mod func(*Options)) (*Manifest, map[string][]byte, []engine.Event) {
	t.Helper()
	src := `runbook: 1
id: gather
title: Gather
targets:
  app: {description: node}
steps:
  - id: gather
    collect:
` + items + `
    next: done
  - id: done
    end: escalated
`
	rb, err := engine.Load("gather.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string][]engine.Host{"app": {{Role: "app", Name: hostName}}}
	o := Options{Path: t.TempDir(), Runbook: rb, Targets: targets, ToolVersion: "test"}
	if mod != nil {
		mod(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: ex, Targets: targets, Collector: w, OnEvent: func(e engine.Event) {
		w.Event(e)
		if e.Type == engine.EvCollect {
			evs = append(evs, e)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var p *engine.Prompt
	for range 10 {
		if p, err = s.Advance(ctx); err != nil {
			t.Fatal(err)
		}
		if p.Kind == engine.PromptEnd {
			break
		}
	}
	if p.Kind != engine.PromptEnd {
		t.Fatalf("session did not end: %+v", p)
	}
	path, err := w.Close(ctx, Final{Outcome: string(p.Outcome)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	_, data := readArchive(t, path)
	return m, data, evs
}

// sftpFleet starts the in-process SSH/SFTP server with one host, "app-1",
// and returns its client and the directory it serves as "/".
func sftpFleet(t *testing.T) (*rbssh.Client, string) {
	t.Helper()
	sc, err := scenario.Load("s.yaml", []byte("scenario: s\nrunbook: gather\ntargets: {app: app-1}\nhosts:\n  app-1: {user: root}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := sshtest.NewFleet(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f.Client(), f.Root("app-1")
}

// textOf is n bytes of log lines (text, so redaction reads it).
func textOf(n int) []byte {
	line := []byte("2026-11-28T03:00:00Z app: request served in 12ms\n")
	b := bytes.Repeat(line, n/len(line)+1)
	return b[:n]
}

// Text files of every size up to the per-file cap are collected whole, and
// larger ones as their tail, both locally and over SFTP; the collect event
// says what the bundle says (issue 13: countingReader hid Seek, so a text
// file over 4 MiB was never collected while the event said ok).
func TestCollectSizesLocalAndSFTP(t *testing.T) {
	sizes := []int{0, 1, 4<<20 - 1, 4 << 20, 4<<20 + 1, 300 << 20}
	if testing.Short() {
		sizes = sizes[:5]
	}
	const capBytes = 256 << 20 // DefaultMaxFileBytes
	client, sftpRoot := sftpFleet(t)
	localRoot := t.TempDir()
	for _, n := range sizes {
		data := textOf(n)
		for _, root := range []string{localRoot, sftpRoot} {
			if err := os.MkdirAll(filepath.Join(root, "logs"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "logs", fmt.Sprintf("f%d.log", n)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name, host, dir string
		ex              engine.Executor
	}{
		{"local", "local", localRoot, rbssh.Local{}},
		{"sftp", "app-1", "", client},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, data, evs := realCollect(t, tc.ex, tc.host, `      - {on: app, files: "`+tc.dir+`/logs/*.log"}`, nil)
			byPath := map[string]Entry{}
			for _, e := range m.Entries {
				if e.Kind == KindFile {
					byPath[e.Path] = e
				}
			}
			evBy := map[string]engine.Event{}
			for _, e := range evs {
				evBy[e.Path] = e
			}
			for _, n := range sizes {
				p := fmt.Sprintf("%s/logs/f%d.log", tc.dir, n)
				e, ok := byPath[p]
				if !ok {
					t.Errorf("%d bytes: no entry", n)
					continue
				}
				wantStatus, wantBytes := StatusOK, int64(n)
				if n > capBytes {
					wantStatus, wantBytes = StatusTruncated, capBytes
				}
				if e.Status != wantStatus || e.BytesBefore != int64(n) || e.Member == "" {
					t.Errorf("%d bytes: entry %+v", n, e)
					continue
				}
				got := data[e.Member]
				if n <= capBytes && !bytes.Equal(got, textOf(n)) {
					t.Errorf("%d bytes: stored %d bytes that differ", n, len(got))
				}
				if n > capBytes && (int64(len(got)) > wantBytes || !bytes.HasSuffix(textOf(n), got) || len(got) < capBytes-100) {
					t.Errorf("%d bytes: stored %d bytes, not the tail", n, len(got))
				}
				if ev := evBy[p]; ev.Status != e.Status {
					t.Errorf("%d bytes: collect event says %q, the bundle %q (%s)", n, ev.Status, e.Status, e.Error)
				}
			}
			if m.Status != "complete" {
				t.Errorf("bundle %s: %v", m.Status, m.Incomplete)
			}
			_ = strings.TrimSpace
		})
	}
}

// The collect event carries the bundle's verdict: a binary file the bundle
// refused is "skipped" in the event too, never "ok".
func TestCollectEventMatchesEntry(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "core.bin"), []byte("ELF\x00\x00\x01binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, _, evs := realCollect(t, rbssh.Local{}, "local", `      - {on: app, files: "`+dir+`/*"}`, nil)
	var entry Entry
	for _, e := range m.Entries {
		if e.Kind == KindFile {
			entry = e
		}
	}
	if entry.Status != StatusSkipped || len(evs) != 1 || evs[0].Status != StatusSkipped || evs[0].Error == "" {
		t.Fatalf("entry %+v, events %+v", entry, evs)
	}
}
