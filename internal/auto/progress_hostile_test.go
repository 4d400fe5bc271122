package auto_test

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

// The --auto progress lines quote the server (exit-signal name, host name,
// error text) and the runbook: every one passes the sanitiser.
func TestProgressHostileCorpus(t *testing.T) {
	rb, err := engine.Load("at.yaml", []byte(autoRunbook))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range hostile.Corpus {
		var out strings.Builder
		p := auto.NewProgress(&out, rb)
		zero := 0
		evil := c.Text
		p.Event(engine.Event{Type: engine.EvStepEnter, Step: "probe"})
		p.Event(engine.Event{Type: engine.EvCommand, Step: "probe", Host: evil})
		p.Event(engine.Event{Type: engine.EvResult, Step: "probe", Host: evil, Signal: "KILL" + evil, Captures: map[string]string{"used": evil}})
		p.Event(engine.Event{Type: engine.EvDecision, Step: "probe", Next: "decide", Explain: evil, Expr: evil, By: "auto"})
		p.Event(engine.Event{Type: engine.EvStepEnter, Step: "decide"})
		p.Event(engine.Event{Type: engine.EvResult, Step: "decide", Host: "h", Exit: &zero})
		p.Event(engine.Event{Type: engine.EvError, Step: "decide", Error: evil})
		p.Event(engine.Event{Type: engine.EvSessionEnd, Step: "ok", Outcome: "resolved", Message: evil})
		if !strings.Contains(out.String(), "killed by KILL") {
			t.Fatalf("%s: progress does not show the signal:\n%s", c.Name, out.String())
		}
		hostile.Check(t, "progress "+c.Name, out.String())
	}
}

// A result over the per-step output cap says so in the progress line.
func TestProgressShowsTruncatedOutput(t *testing.T) {
	rb, err := engine.Load("at.yaml", []byte(autoRunbook))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	p := auto.NewProgress(&out, rb)
	zero := 0
	p.Event(engine.Event{Type: engine.EvStepEnter, Step: "probe"})
	p.Event(engine.Event{Type: engine.EvResult, Step: "probe", Host: "h", Exit: &zero, Truncated: true, Bytes: 2147483648})
	p.Event(engine.Event{Type: engine.EvDecision, Step: "probe", Next: "decide", By: "auto"})
	if !strings.Contains(out.String(), "exit 0 (output 2147483648 bytes, truncated)") {
		t.Fatalf("progress:\n%s", out.String())
	}
}
