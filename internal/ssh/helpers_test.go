package ssh_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// env is one in-process server plus a client that trusts it.
type env struct {
	t      *testing.T
	srv    *sshtest.Server
	key    gossh.Signer
	known  string
	dir    string
	client *rbssh.Client
	host   engine.Host
}

func newEnv(t *testing.T, opts sshtest.Options, cfg func(*rbssh.Config)) *env {
	t.Helper()
	key, err := sshtest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	opts.AuthorizedKeys = append(opts.AuthorizedKeys, key.PublicKey())
	srv, err := sshtest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	e := &env{t: t, srv: srv, key: key, dir: dir, known: filepath.Join(dir, "known_hosts"),
		host: engine.Host{Role: "h", Name: "tester@" + srv.Addr()}}
	writeFile(t, e.known, srv.KnownHostsLine()+"\n")
	c := e.config()
	if cfg != nil {
		cfg(&c)
	}
	e.client = e.newClient(c)
	return e
}

func (e *env) config() rbssh.Config {
	return rbssh.Config{
		Signers: []gossh.Signer{e.key}, NoAgent: true, NoDefaultIdentities: true, NoSSHConfig: true,
		KnownHosts: []string{e.known}, HandshakeTimeout: 10 * time.Second,
	}
}

func (e *env) newClient(c rbssh.Config) *rbssh.Client {
	e.t.Helper()
	cl, err := rbssh.New(c)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cl.Close() })
	return cl
}

type runOut struct {
	res            engine.CommandResult
	err            error
	stdout, stderr string
}

func run(ctx context.Context, ex engine.Executor, h engine.Host, req engine.CommandRequest) runOut {
	var o, e strings.Builder
	res, err := ex.Run(ctx, h, req, &lockedWriter{w: &o}, &lockedWriter{w: &e})
	return runOut{res, err, o.String(), e.String()}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// memCollector keeps fetched files in memory.
type memCollector struct {
	mu      sync.Mutex
	files   map[string]string
	meta    map[string]engine.RemoteFile
	skipped map[string]string
	order   []string
}

func newMemCollector() *memCollector {
	return &memCollector{files: map[string]string{}, meta: map[string]engine.RemoteFile{}, skipped: map[string]string{}}
}

func (c *memCollector) File(ctx context.Context, h engine.Host, step string, f engine.RemoteFile, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	// Collectors that redact read twice: the reader must seek back.
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return fmt.Errorf("%s: reader cannot seek", f.Path)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return err
	}
	again, err := io.ReadAll(rs)
	if err != nil || string(again) != string(b) {
		return fmt.Errorf("%s: second read differs (%d vs %d bytes, %v)", f.Path, len(again), len(b), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[f.Path], c.meta[f.Path] = string(b), f
	c.order = append(c.order, f.Path)
	return nil
}

func (c *memCollector) Skipped(h engine.Host, step string, f engine.RemoteFile, status, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped[f.Path] = status + ": " + reason
}

func (c *memCollector) Command(h engine.Host, step, cmd string) engine.CommandSink { return nil }
