package main

import (
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

// The summary of `sessions show` prints journaled text (decisions quote
// host output, notes, messages, host names): none of it reaches stdout raw.
func TestSessionSummaryHostileCorpus(t *testing.T) {
	rb, err := engine.Load("h.yaml", []byte(`runbook: 1
id: h
title: h
targets: {host: {}}
steps:
  - id: probe
    run: {on: host, cmd: "cat /etc/motd"}
    next: done
  - {id: done, end: resolved}
`))
	if err != nil {
		t.Fatal(err)
	}
	evil := hostile.OneLine()
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	evs := []engine.Event{
		{Seq: 1, Time: at, Type: engine.EvSessionStart, Runbook: "h"},
		{Seq: 2, Time: at, Type: engine.EvStepEnter, Step: "probe", Visit: 1},
		{Seq: 3, Time: at, Type: engine.EvNote, Step: "probe", Visit: 1, Text: evil},
		{Seq: 4, Time: at, Type: engine.EvDecision, Step: "probe", Visit: 1, Next: "done", Expr: "next", By: "auto", Explain: evil},
		{Seq: 5, Time: at, Type: engine.EvStepEnter, Step: "done", Visit: 2},
		{Seq: 6, Time: at, Type: engine.EvSessionEnd, Step: "done", Outcome: engine.OutcomeResolved, Message: evil},
	}
	s, err := engine.Restore(rb, engine.Options{Executor: noTransport{}, Targets: map[string][]engine.Host{"host": {{Role: "host", Name: evil}}}}, evs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printSession(&out, journal.Header{ID: "20261202T030000Z-h-0001", Runbook: "h", Title: evil, Started: at, Targets: map[string][]string{"host": {evil}}}, s)
	hostile.Check(t, "sessions show summary", out.String())
	if !strings.Contains(out.String(), "outcome  resolved") || !strings.Contains(out.String(), "note: ") {
		t.Errorf("summary:\n%s", out.String())
	}
}
