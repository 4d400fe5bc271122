package ui

import (
	"testing"

	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

func TestSmokeScreen(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df -hl`, Stdout: dfFull})
	h := newHarness(t, "backup.yaml", fake, withParams("ticket", "INC1"))
	h.settle()
	t.Log("\n" + h.screen())
	h.press("enter")
	t.Log("\n" + h.screen())
}
