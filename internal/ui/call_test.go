package ui

import (
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

const storcliSlots = `Controller = 0
Status = Success
Description = Show Drive Information Succeeded.

-------------------------------------------------------------------------------
EID:Slt DID State DG       Size Intf Med SED PI SeSz Model                  Sp Type
-------------------------------------------------------------------------------
252:0     8 Onln   0 893.750 GB SATA SSD N   N  512B SAMSUNG MZ7LH960HAJR-00005 U  -
252:1     9 Onln   0 893.750 GB SATA SSD N   N  512B SAMSUNG MZ7LH960HAJR-00005 U  -
-------------------------------------------------------------------------------
`

// TestCalledStepShowsItsItem: a for_each call's steps say which item they
// run for, in the step header, as the walk goes from slot to slot.
func TestCalledStepShowsItsItem(t *testing.T) {
	fake := enginetest.New(
		enginetest.Rule{Match: `^storcli64 /c0 /eall /sall show$`, Stdout: storcliSlots},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,[01] /dev/sda$`, Stdout: "SMART overall-health self-assessment test result: PASSED\n"},
	)
	h := newHarness(t, "raid-slots.yaml", fake)
	h.settle()
	h.wantPrompt(engine.PromptRun, "slots")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "slots")
	h.press("enter")
	h.wantPrompt(engine.PromptRun, "each/health")
	h.mustSee("[slot 1 of 2: 0]")
	h.press("enter")
	h.wantPrompt(engine.PromptDecided, "each/health")
	h.press("enter")
	h.wantPrompt(engine.PromptRun, "each/health")
	h.mustSee("[slot 2 of 2: 1]")
	h.mustNotSee("[slot 1 of 2: 0]")
}
