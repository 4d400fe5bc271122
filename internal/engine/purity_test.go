package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEngineIsPure enforces the dependency rule in docs/ARCHITECTURE.md: the
// engine touches no terminal, network or process, so it runs the same under
// the TUI, --auto and tests. Test files are not dependencies, so tests here
// may use os/exec.
func TestEngineIsPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	for _, pkg := range []string{"github.com/runbook-dev/runbook/internal/engine", "github.com/runbook-dev/runbook/internal/engine/enginetest"} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed only %d packages: %q", pkg, len(deps), deps)
		}
		for _, d := range deps {
			for _, banned := range []string{"charm.land/", "github.com/charmbracelet/", "golang.org/x/crypto", "github.com/pkg/sftp", "os/exec", "net/http"} {
				if d == strings.TrimSuffix(banned, "/") || strings.HasPrefix(d, banned) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
