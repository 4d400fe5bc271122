package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: no scenario file may panic or hang Load; what Load accepts can
// be bound and answered.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../runbooks/scenarios/*/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("scenario: s\nrunbook: r\ntargets: {app: a}\nhosts:\n  a: {user: root, commands: [{match: '^x$', stdout: \"\\e]52;c;eA==\\a\"}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load("f.yaml", data)
		if err != nil {
			return
		}
		_ = s.Bindings()
		r := NewResponder(s)
		for _, h := range s.HostNames() {
			_ = r.Respond(h, "hostname")
		}
	})
}
