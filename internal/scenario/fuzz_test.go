package scenario

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

type nopCollector struct{}

func (nopCollector) File(_ context.Context, _ engine.Host, _ string, _ engine.RemoteFile, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (nopCollector) Skipped(engine.Host, string, engine.RemoteFile, string, string) {}
func (nopCollector) Command(engine.Host, string, string) engine.CommandSink         { return nil }

// FuzzLoad: no scenario file may panic or hang Load; what Load accepts can
// be bound and answered.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../runbooks/scenarios/*/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("scenario: s\nhosts:\n  a:\n    files: {/x: {size: 10}, /y: {content: hi}, /z: {link: /etc}}\n"))
	f.Add([]byte("scenario: s\nrunbook: r\ntargets: {app: a}\nhosts:\n  a: {user: root, commands: [{match: '^x$', stdout: \"\\e]52;c;eA==\\a\"}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load("f.yaml", data)
		if err != nil {
			return
		}
		_ = s.Bindings()
		r := NewResponder(s)
		ex := NewExecutor(s)
		for _, h := range s.HostNames() {
			_ = r.Respond(h, "hostname")
			_ = ex.Fetch(context.Background(), engine.Host{Name: h}, engine.FetchRequest{Globs: []string{"*", "/*", "/*/*"}}, nopCollector{})
		}
	})
}
