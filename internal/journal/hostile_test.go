package journal

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

// `cat` of a journal is safe: the hostile corpus in the header and in every
// event field is stored post-escaped, and reads back as the same values.
func TestJournalHostileCorpus(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	evil := hostile.All()
	// Invalid UTF-8 cannot survive JSON; everything else must round-trip.
	var want string
	if b, err := json.Marshal(evil); err != nil || json.Unmarshal(b, &want) != nil {
		t.Fatal(err)
	}
	w, err := Create(dir, Header{ID: "j1", Runbook: "disk", Title: evil, Source: "runbook: 1\n", SHA256: sum("runbook: 1\n"), Started: t0, Hostname: evil})
	if err != nil {
		t.Fatal(err)
	}
	w.Event(engine.Event{Seq: 1, Time: t0, Type: engine.EvOutput, Step: "probe", Host: evil, Stream: "stdout", Data: evil})
	w.Event(engine.Event{Seq: 2, Time: t0, Type: engine.EvResult, Step: "probe", Host: evil, Signal: evil, Error: evil})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	hostile.Check(t, "journal file", string(raw))
	h, evs, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if h.Title != want || len(evs) != 2 || evs[0].Data != want || evs[1].Signal != want || evs[0].Host != want {
		t.Errorf("values changed on the way through the journal: %q %+v", h.Title, evs)
	}
}
