package scenario_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

// TestChronyExampleNamesTheHosts: the example's per-host and rollout
// scenarios end with messages that name the hosts a person must look at,
// and a wrong per-host expectation is reported as such.
func TestChronyExampleNamesTheHosts(t *testing.T) {
	rb, err := engine.LoadFile("../../examples/chrony-drift.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"4-rollout-stopped.yaml": "The chronyd restart was stopped: node2 did not synchronise within a minute; node4 were not restarted. Hand over to the network team with their `chronyc sources` output.",
		"5-still-drifting.yaml":  "Still not synchronised after the restart: node4. Hand over to the network team with the `chronyc sources` output of these nodes.",
	} {
		path := filepath.Join("../../examples/scenarios/chrony-drift", file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Load(path, data)
		if err != nil {
			t.Fatal(err)
		}
		c, err := scenario.RunCheck(context.Background(), rb, path, sc)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Failures) > 0 || c.Result.Message != want {
			t.Errorf("%s: failures %v, message %q", file, c.Failures, c.Result.Message)
		}
		sc.Expect.Hosts = map[string][]string{"node1": {"tracking", "sources"}}
		if c, _ := scenario.RunCheck(context.Background(), rb, path, sc); len(c.Failures) != 1 {
			t.Errorf("%s: a wrong host path should be one failure, got %v", file, c.Failures)
		}
	}
}
