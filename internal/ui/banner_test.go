package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

func withBanner(b string) harnessOpt { return func(c *Config) { c.Banner = b } }

// TestBannerStaysOnScreen: a demo says it is a demo on every screen, at
// every width, even when a long message fills the status bar.
func TestBannerStaysOnScreen(t *testing.T) {
	const banner = "demo · scenario 1-backup-full · simulated hosts"
	h := newHarness(t, "backup.yaml", enginetest.New(), withBanner(banner))
	h.settle()
	for _, sz := range [][2]int{{80, 24}, {120, 35}, {200, 50}} {
		h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		h.mustSee(banner)
		h.m.status.SetMessage(strings.Repeat("a long message that wants the whole bar ", 6), true)
		h.mustSee(banner)
		checkBlock(t, "screen with banner", h.m.render(), sz[0])
		h.m.status.SetMessage("", false)
	}
	h.press("?")
	h.mustSee(banner)
}
