package bundle

import (
	"bytes"
	"context"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

// Every member the bundle writer generates (transcript.jsonl, manifest.json,
// redactions.json, report.md, manifest.sha256) is safe to `cat` or
// `less -R`, with the hostile corpus in host names, file names, output,
// signals, errors and the runbook's own text. Collected files are evidence
// and stored as they were.
func TestGeneratedMembersHostileCorpus(t *testing.T) {
	evil := hostile.OneLine()
	all := hostile.All()
	w := newWriter(t, func(o *Options) {
		o.Runbook.Title = evil
		o.Runbook.Source = evil
		o.Runbook.Steps[0].Title = evil
		o.Targets = map[string][]engine.Host{"host": {{Role: "host", Name: evil}}}
	})
	h := engine.Host{Role: "host", Name: evil}
	exit := 1
	for _, e := range []engine.Event{
		{Type: engine.EvSessionStart, Runbook: "disk-check", Params: map[string]string{"p": evil}},
		{Type: engine.EvStepEnter, Step: "probe"},
		{Type: engine.EvCommand, Step: "probe", Host: h.Name, Command: evil},
		{Type: engine.EvOutput, Step: "probe", Host: h.Name, Stream: "stdout", Data: all},
		{Type: engine.EvResult, Step: "probe", Host: h.Name, Exit: &exit, Signal: evil, Error: evil, Captures: map[string]string{"c": evil}},
		{Type: engine.EvDecision, Step: "probe", Next: "gather", Expr: evil, By: "auto", Explain: evil},
		{Type: engine.EvStepEnter, Step: "gather"},
		{Type: engine.EvNote, Step: "gather", Text: all},
		{Type: engine.EvError, Step: "gather", Error: all},
		{Type: engine.EvStepEnter, Step: "escalate"},
		{Type: engine.EvSessionEnd, Step: "escalate", Outcome: engine.OutcomeEscalated, Message: all},
	} {
		e.Time = t0
		w.Event(e)
	}
	ctx := context.Background()
	for _, c := range hostile.Corpus {
		data := []byte("line\n")
		if err := w.File(ctx, h, "gather", remote("/var/log/"+c.Text, data), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	path, err := w.Close(ctx, Final{Outcome: "escalated", Message: all})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(path); err != nil {
		t.Fatalf("verify: %v", err)
	}
	_, data := readArchive(t, path)
	for _, name := range []string{TranscriptName, ManifestName, RedactionsName, ReportName, ManifestDigestName} {
		b, ok := data[name]
		if !ok {
			t.Fatalf("no %s in the bundle", name)
		}
		hostile.Check(t, name, string(b))
	}
}

// report.md says when a result's output was over the per-step cap.
func TestReportShowsTruncatedResult(t *testing.T) {
	w := newWriter(t, nil)
	exit := 0
	for _, e := range []engine.Event{
		{Type: engine.EvStepEnter, Step: "probe"},
		{Type: engine.EvResult, Step: "probe", Host: host.Name, Exit: &exit, Truncated: true, Bytes: 2147483648},
		{Type: engine.EvSessionEnd, Step: "escalate", Outcome: engine.OutcomeEscalated},
	} {
		e.Time = t0
		w.Event(e)
	}
	path, err := w.Close(context.Background(), Final{Outcome: "escalated"})
	if err != nil {
		t.Fatal(err)
	}
	_, data := readArchive(t, path)
	if !bytes.Contains(data[ReportName], []byte("printed 2147483648 bytes, over the per-step cap")) {
		t.Fatalf("report:\n%s", data[ReportName])
	}
}
