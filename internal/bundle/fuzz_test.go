package bundle

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// seedTar is the uncompressed tar of a real bundle (what FuzzVerify
// mutates: mutating gzip bytes would only exercise the gzip reader).
func seedTar(f testing.TB) []byte {
	dir := f.TempDir()
	rb := testRunbook()
	w, err := New(Options{Path: dir, Runbook: rb, ToolVersion: "fuzz", Now: func() time.Time { return t0 },
		Targets: map[string][]engine.Host{"host": {{Role: "host", Name: "root@web-1"}}}})
	if err != nil {
		f.Fatal(err)
	}
	exit := 0
	for _, e := range []engine.Event{
		{Type: engine.EvSessionStart, Runbook: rb.ID},
		{Type: engine.EvOutput, Step: "probe", Host: "root@web-1", Stream: "stdout", Data: "x\x1b]52;c;eA==\x07\u009b\n"},
		{Type: engine.EvResult, Step: "probe", Host: "root@web-1", Exit: &exit},
		{Type: engine.EvSessionEnd, Outcome: engine.OutcomeEscalated},
	} {
		e.Time = t0
		w.Event(e)
	}
	data := []byte("log line\n")
	if err := w.File(context.Background(), engine.Host{Name: "root@web-1"}, "gather", engine.RemoteFile{Path: "/var/log/a.log", Size: int64(len(data)), ModTime: t0}, bytes.NewReader(data)); err != nil {
		f.Fatal(err)
	}
	path, err := w.Close(context.Background(), Final{Outcome: "escalated"})
	if err != nil {
		f.Fatal(err)
	}
	gz, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		f.Fatal(err)
	}
	tarData, err := io.ReadAll(zr)
	if err != nil {
		f.Fatal(err)
	}
	return tarData
}

// FuzzVerify: no archive, however damaged or hostile (unsafe names, links,
// duplicate members, broken chain, huge sizes), may panic or hang Verify;
// an archive Verify accepts also reads with ReadManifest.
func FuzzVerify(f *testing.F) {
	f.Add(seedTar(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tarData []byte) { verifyTar(t, tarData) })
}

// The seed is a bundle that verifies, so the fuzzer starts past the
// detached digest and the gzip layer, at the members.
func TestFuzzVerifySeedIsValid(t *testing.T) {
	if !verifyTar(t, seedTar(t)) {
		t.Fatal("the seed bundle does not verify")
	}
}

// verifyTar gzips tarData with a matching detached digest and verifies it.
func verifyTar(t *testing.T, tarData []byte) bool {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(tarData)
	_ = zw.Close()
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(gz.Bytes())
	if err := os.WriteFile(path+".sha256", []byte(hex.EncodeToString(sum[:])+"  b.tar.gz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(path); err != nil {
		return false
	}
	if _, err := ReadManifest(path); err != nil {
		t.Fatalf("Verify accepted what ReadManifest rejects: %v", err)
	}
	return true
}
