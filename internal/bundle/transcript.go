package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/redact"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// GenesisHash is the "prev" of the transcript's first line.
var GenesisHash = strings.Repeat("0", 64)

// TranscriptLine is one line of transcript.jsonl: the event, redacted, and
// the sha256 (hex) of the previous line's bytes (without its newline).
type TranscriptLine struct {
	Prev string `json:"prev"`
	engine.Event
}

// LineHash is the chain hash of one transcript line.
func LineHash(line []byte) string {
	s := sha256.Sum256(line)
	return hex.EncodeToString(s[:])
}

// transcript accumulates the redacted, chained event lines in memory (they
// are small; output data beyond TranscriptBytes is elided and counted) and
// the report's model of the session.
type transcript struct {
	w       *Writer
	mu      sync.Mutex
	buf     bytes.Buffer
	prev    string
	lines   int
	elided  int
	first   time.Time
	ended   bool
	outcome engine.Outcome
	message string
	hits    RedactionItem
	rep     reportModel
}

func (t *transcript) head() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prev == "" {
		return GenesisHash
	}
	return t.prev
}

func (t *transcript) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf.Bytes()...)
}

// Event records one session event: redacted, appended to the transcript and
// to the report. Pass it every event (engine.Options.OnEvent).
func (w *Writer) Event(e engine.Event) {
	t := &w.ev
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first.IsZero() {
		t.first = e.Time
	}
	line := t.lines + 1
	if e.Type == engine.EvSessionStart {
		w.learnHostParams(e.Params)
	}
	if w.red != nil {
		w.redactEvent(&e, line)
	}
	w.pseudoEvent(&e)
	if e.Type == engine.EvOutput && int64(t.buf.Len()) > w.opts.TranscriptBytes {
		e.Data = fmt.Sprintf("[elided: transcript over %d bytes]", w.opts.TranscriptBytes)
		t.elided++
	}
	if e.Type == engine.EvSessionEnd {
		t.ended, t.outcome, t.message = true, e.Outcome, e.Message
	}
	prev := t.prev
	if prev == "" {
		prev = GenesisHash
	}
	b, err := untrusted.MarshalJSON(TranscriptLine{Prev: prev, Event: e})
	if err != nil {
		b, _ = untrusted.MarshalJSON(TranscriptLine{Prev: prev, Event: engine.Event{Seq: e.Seq, Time: e.Time, Type: engine.EvError, Error: "event not encodable: " + err.Error()}})
	}
	t.buf.Write(b)
	t.buf.WriteByte('\n')
	t.prev = LineHash(b)
	t.lines++
	t.rep.add(e)
}

// redactEvent masks every free-text field of an event and records the hits
// against its transcript line.
func (w *Writer) redactEvent(e *engine.Event, line int) {
	t := &w.ev
	do := func(s *string) {
		if *s == "" {
			return
		}
		out, res := w.red.String(*s)
		*s = out
		for rule, n := range res.Totals {
			if len(t.hits.Hits) < redact.MaxHits {
				t.hits.Hits = append(t.hits.Hits, RedactionHit{Line: line, Rule: rule, Count: n})
			} else {
				t.hits.Truncated = true
			}
			if t.hits.Totals == nil {
				t.hits.Totals = map[string]int{}
			}
			t.hits.Totals[rule] += n
		}
	}
	for _, s := range []*string{&e.Command, &e.Data, &e.Explain, &e.Expr, &e.Answer, &e.Reason, &e.Text, &e.Path, &e.Error, &e.Message} {
		do(s)
	}
	// Maps are shared with the session and other observers: copy, never
	// mask in place.
	for _, m := range []*map[string]string{&e.Params, &e.Inputs, &e.Captures} {
		if *m == nil {
			continue
		}
		c := make(map[string]string, len(*m))
		for k, v := range *m {
			do(&v)
			c[k] = v
		}
		*m = c
	}
}

// transcriptRedactions returns the transcript's redaction item, if any.
func (t *transcript) redactions() (RedactionItem, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it := t.hits
	it.Member = TranscriptName
	return it, len(it.Totals) > 0
}
