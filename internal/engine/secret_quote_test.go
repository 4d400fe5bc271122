package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

// TestSecretWithQuoteMaskedInCommands: a password with a single quote is
// rendered shell-quoted ('it'"'"'s'), which does not contain the value as
// typed; the command shown in events must not carry it either.
func TestSecretWithQuoteMaskedInCommands(t *testing.T) {
	rb := mustLoad(t, `runbook: 1
id: s
title: s
targets: {host: {}}
params:
  pw: {secret: true}
steps:
  - id: login
    run: {on: host, cmd: "SSHPASS={{ params.pw }} sshpass -e ssh cocon"}
    next: done
  - id: done
    end: resolved
`)
	fake := enginetest.New(enginetest.Rule{Match: "sshpass -e ssh cocon$", Stdout: "ok\n"})
	var all strings.Builder
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: local("host"), Params: map[string]string{"pw": "Tr0ub4dor&3'x"},
		OnEvent: func(e engine.Event) { all.WriteString(e.Command + "|" + e.Data + "|" + e.Text + "\n") }})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Advance(context.Background()); err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("got %+v, %v", p, err)
	}
	if strings.Contains(all.String(), "Tr0ub4dor") {
		t.Errorf("the password leaked into events:\n%s", all.String())
	}
	if !strings.Contains(all.String(), "SSHPASS=****** sshpass") {
		t.Errorf("the command is not shown masked:\n%s", all.String())
	}
	if !fake.Ran(`^SSHPASS='Tr0ub4dor&3'"'"'x' sshpass -e ssh cocon$`) {
		t.Errorf("the executor must get the real value: %v", fake.Calls())
	}
}
