package choices

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/ui/keymap"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

// TestTitleKeepsParagraphs: a question over two hosts of a per-host section
// ("h1: …\n\nh2: …") shows as two paragraphs, not as one line with a
// literal \n; escapes in it are still neutralised.
func TestTitleKeepsParagraphs(t *testing.T) {
	m := New("h1: its table shows ds1@h1 split.\n\nh2: its table shows ds1@h2\x1b[2J split.", []Item{{Label: "keep", Value: "keep"}}, styles.Plain(), keymap.DefaultKeyMap())
	m.SetSize(60, 20)
	lines := m.titleLines()
	if len(lines) != 3 || lines[0] != "h1: its table shows ds1@h1 split." || lines[1] != "" || !strings.HasPrefix(lines[2], "h2: its table shows ds1@h2") {
		t.Fatalf("title lines %q, want the two paragraphs", lines)
	}
	if v := m.View(); strings.Contains(v, `\n`) || strings.Contains(v, "\x1b[2J") {
		t.Fatalf("view shows a literal \\n or the escape: %q", v)
	}
}
