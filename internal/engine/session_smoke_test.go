package engine_test

import (
	"context"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

func TestSmokeWalk(t *testing.T) {
	rb, err := engine.LoadFile("../../testdata/valid/disk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if ds := engine.Lint(rb); len(ds) > 0 {
		t.Fatal(ds)
	}
	fake := enginetest.New(
		enginetest.Rule{Match: `^df -hl /srv/BigData/LocalBackup$`, Stdout: "Filesystem Size Used Avail Use% Mounted on\n/dev/sdb1 100G 93G 7G 93% /srv\n"},
		enginetest.Rule{Match: `^rm -rf -- /srv/BigData/LocalBackup/old$`},
	)
	var evs []engine.Event
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Targets: map[string][]engine.Host{"active": {{Role: "active", Name: "local"}}}, OnEvent: func(e engine.Event) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptConfirm {
		t.Fatalf("got %+v %v", p, err)
	}
	if err := s.Confirm(map[string]string{"dir": "/srv/BigData/LocalBackup/old"}, ""); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptEnd || p.Outcome != engine.OutcomeResolved {
		t.Fatalf("got %+v %v", p, err)
	}
	for _, e := range evs {
		if e.Type == engine.EvDecision {
			t.Log(e.Step, e.Explain)
		}
	}
}
