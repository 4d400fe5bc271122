package hostile

import (
	"testing"

	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Every case is hostile (Unsafe sees it) and the sanitiser makes it safe.
func TestCorpusIsHostileAndSanitised(t *testing.T) {
	for _, c := range Corpus {
		if Unsafe(c.Text) == "" {
			t.Errorf("%s: Unsafe does not see anything wrong in %q", c.Name, c.Text)
		}
		Check(t, c.Name+" Sanitize", untrusted.Sanitize(c.Text))
		Check(t, c.Name+" SanitizeLine", untrusted.SanitizeLine(c.Text))
	}
	Check(t, "All", untrusted.Sanitize(All()))
}
