package journal

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

func TestNewIDSortsAndIsSafe(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 4, 30, 0, 0, time.UTC)
	id := NewID("mrs-alm-45641", t0)
	if !regexp.MustCompile(`^20261128T043000Z-mrs-alm-45641-[0-9a-f]{4}$`).MatchString(id) {
		t.Fatalf("id %q", id)
	}
	later := NewID("a", t0.Add(time.Second))
	if !(id < later) {
		t.Fatalf("%q should sort before %q", id, later)
	}
	if got := NewID("../../etc/x", t0); strings.Contains(got, "/") {
		t.Fatalf("unsafe id %q", got)
	}
	if _, err := Path(t.TempDir(), "../x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("path traversal accepted: %v", err)
	}
}

func TestWriteReadListLifecycle(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := NewID("disk", t0)
	w, err := Create(dir, Header{ID: id, Runbook: "disk", Source: "runbook: 1\n", SHA256: sum("runbook: 1\n"), Started: t0, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	exit := 0
	w.Event(engine.Event{Seq: 1, Type: engine.EvSessionStart, Runbook: "disk"})
	w.Event(engine.Event{Seq: 2, Type: engine.EvStepEnter, Step: "check", Visit: 1})
	w.Event(engine.Event{Seq: 3, Type: engine.EvResult, Step: "check", Exit: &exit, Captures: map[string]string{"used": "93"}})

	// While this writer holds the journal, it is running and cannot be resumed.
	sums, errs := List(dir)
	if len(errs) > 0 || len(sums) != 1 {
		t.Fatalf("list: %v %v", sums, errs)
	}
	if sums[0].State != StateRunning || sums[0].LastStep != "check" || sums[0].ID != id {
		t.Fatalf("running summary: %+v", sums[0])
	}
	path, _ := Path(dir, id)
	if _, err := Append(path, 3); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: %v, want ErrLocked", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// Closed without an end: the process is gone, so it was interrupted.
	s, err := Summarize(path)
	if err != nil || s.State != StateInterrupted {
		t.Fatalf("after close: %+v %v", s, err)
	}

	// Resume by unique prefix, append a stop, then an end.
	p2, err := Resolve(dir, id[:20])
	if err != nil || p2 != path {
		t.Fatalf("resolve prefix: %q %v", p2, err)
	}
	w2, err := Append(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	w2.Stop("needs-human", "check", "manual step", t0)
	if s, _ := Summarize(path); s.State != StateRunning {
		t.Fatalf("while appended: %+v", s)
	}
	w2.Close()
	if s, _ := Summarize(path); s.State != StateStopped || s.Outcome != "needs-human" {
		t.Fatalf("after stop: %+v", s)
	}
	w3, _ := Append(path, 4)
	w3.Event(engine.Event{Seq: 5, Type: engine.EvSessionEnd, Step: "ok", Outcome: engine.OutcomeResolved})
	w3.Close()
	h, evs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != id || h.Source != "runbook: 1\n" || len(evs) != 5 || evs[3].Type != EvStop || evs[3].Seq != 4 {
		t.Fatalf("read back: %+v %+v", h, evs)
	}
	if evs[2].Captures["used"] != "93" || *evs[2].Exit != 0 {
		t.Fatalf("result lost: %+v", evs[2])
	}
	if s, _ := Summarize(path); s.State != StateEnded || s.Outcome != "resolved" {
		t.Fatalf("after end: %+v", s)
	}
}

// A SIGKILL can tear the last line. Read skips it, and Append closes it
// so that later lines parse.
func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, Header{ID: "x", Runbook: "r", SHA256: sum("")})
	if err != nil {
		t.Fatal(err)
	}
	w.Event(engine.Event{Seq: 1, Type: engine.EvStepEnter, Step: "a"})
	w.Close()
	path, _ := Path(dir, "x")
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":2,"type":"output","da`)
	f.Close()
	_, evs, err := Read(path)
	if err != nil || len(evs) != 1 {
		t.Fatalf("torn: %v %v", evs, err)
	}
	w2, err := Append(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	w2.Event(engine.Event{Seq: 2, Type: engine.EvStepEnter, Step: "b"})
	w2.Close()
	_, evs, err = Read(path)
	if err != nil || len(evs) != 2 || evs[1].Step != "b" {
		t.Fatalf("after repair: %+v %v", evs, err)
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"20260101T000000Z-a-0001", "20260101T000000Z-a-0002"} {
		w, err := Create(dir, Header{ID: id, Runbook: "a", SHA256: sum("")})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	if _, err := Resolve(dir, "2026"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	if _, err := Resolve(dir, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if sums, _ := List(t.TempDir() + "/missing"); len(sums) != 0 {
		t.Fatal("missing dir should list nothing")
	}
}

// `runbook sessions` reads a journal through the engine's fold: the last
// step entered and how it ended, for every cut of a real journal (written
// by `runbook demo` before the fold existed).
func TestSummarizeFoldsARealJournal(t *testing.T) {
	data, err := os.ReadFile("../../runbooks/testdata/journals/fsr-split-brain.v1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	// line index (0 = header) → the step the summary names.
	want := map[int]string{1: "", 2: "detect-split-brain", 9: "detect-split-brain", 10: "choose-victim", 13: "discard-my-data", 37: "sb-resolved"}
	dir := t.TempDir()
	for k := 1; k <= len(lines); k++ {
		path := dir + "/j.jsonl"
		if err := os.WriteFile(path, []byte(strings.Join(lines[:k], "")), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Summarize(path)
		if err != nil {
			t.Fatalf("cut %d: %v", k, err)
		}
		if w, ok := want[k-1]; ok && s.LastStep != w {
			t.Errorf("cut after line %d: last step %q, want %q", k-1, s.LastStep, w)
		}
		switch {
		case k == len(lines) && (s.State != StateEnded || s.Outcome != "resolved"):
			t.Errorf("whole journal: %s %s", s.State, s.Outcome)
		case k < len(lines) && s.State != StateInterrupted:
			t.Errorf("cut after line %d: state %s", k-1, s.State)
		}
	}
}
