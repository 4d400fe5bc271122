package journal

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// An output flood does not flood the journal: per step, host and stream it
// keeps the head and the tail of the cap, says how many bytes it left out,
// and the result after it is journaled intact (issue 13: a 2 GB flood wrote
// a 3.0 GB journal).
func TestOutputFloodBounded(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, Header{ID: "f", Runbook: "r", SHA256: sum(""), Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	const max = 64 << 10
	w.SetMaxOutput(max)
	chunk := strings.Repeat("y\n", 2048) // 4 KiB
	const chunks = 2560                  // 10 MiB per host
	seq := 0
	ev := func(e engine.Event) {
		seq++
		e.Seq = seq
		w.Event(e)
	}
	ev(engine.Event{Type: engine.EvStepEnter, Step: "probe"})
	for i := range chunks {
		for _, h := range []string{"a", "b"} {
			data := chunk
			if i == 0 {
				data = "FIRST " + h + "\n" + chunk
			}
			if i == chunks-1 {
				data = chunk + "LAST " + h + "\n"
			}
			ev(engine.Event{Type: engine.EvOutput, Step: "probe", Host: h, Stream: "stdout", Data: data})
		}
	}
	exit := 0
	ev(engine.Event{Type: engine.EvResult, Step: "probe", Host: "a", Exit: &exit, Bytes: 1, Truncated: true})
	ev(engine.Event{Type: engine.EvResult, Step: "probe", Host: "b", Exit: &exit})
	ev(engine.Event{Type: engine.EvOutput, Step: "other", Host: "a", Stream: "stdout", Data: "small\n"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 4*max { // two streams, "\n" is two bytes in JSON
		t.Fatalf("journal is %d bytes for 20 MiB of output, cap %d per stream", fi.Size(), max)
	}
	_, evs, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var elided int64
	results := 0
	for _, e := range evs {
		switch e.Type {
		case engine.EvOutput:
			out[e.Step+"/"+e.Host] += e.Data
			if e.Truncated {
				elided += e.Bytes
			}
		case engine.EvResult:
			results++
		}
	}
	for _, h := range []string{"a", "b"} {
		got := out["probe/"+h]
		if !strings.HasPrefix(got, "FIRST "+h) || !strings.HasSuffix(got, "LAST "+h+"\n") || int64(len(got)) != max {
			t.Errorf("host %s: %d bytes kept, head %q tail %q", h, len(got), got[:10], got[len(got)-10:])
		}
	}
	total := int64(2 * (chunks*len(chunk) + len("FIRST a\n") + len("LAST a\n")))
	if elided != total-2*max {
		t.Errorf("elided %d bytes, want %d", elided, total-2*max)
	}
	if out["other/a"] != "small\n" || results != 2 {
		t.Errorf("other step %q, %d results", out["other/a"], results)
	}
}
