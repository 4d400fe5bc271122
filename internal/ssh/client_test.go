package ssh_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

func TestRunExitStatusAndOutput(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	e := newEnv(t, sshtest.Options{Handler: func(r *sshtest.Request) *sshtest.Response {
		mu.Lock()
		seen = append(seen, r.Command.Script)
		mu.Unlock()
		switch r.Command.Script {
		case "echo ok":
			return &sshtest.Response{Stdout: "ok\n"}
		case "grep -q x /etc/f":
			return &sshtest.Response{Stderr: "grep: /etc/f: No such file\n", Exit: 2}
		}
		return nil
	}}, nil)
	ctx := testCtx(t)
	o := run(ctx, e.client, e.host, engine.CommandRequest{Script: "echo ok", Timeout: 10 * time.Second})
	if o.err != nil || o.res.Exit != 0 || o.stdout != "ok\n" || o.res.Signal != "" {
		t.Fatalf("exit 0: %+v", o)
	}
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "grep -q x /etc/f"})
	if o.err != nil || o.res.Exit != 2 || o.stderr != "grep: /etc/f: No such file\n" {
		t.Fatalf("exit 2 is a result, not an error: %+v", o)
	}
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "nosuch"})
	if o.err != nil || o.res.Exit != 127 {
		t.Fatalf("unknown command: %+v", o)
	}
	if e.srv.Accepted() != 1 {
		t.Errorf("3 commands used %d connections, want 1 (pooled)", e.srv.Accepted())
	}
	if len(seen) != 3 || seen[0] != "echo ok" {
		t.Errorf("server saw scripts %q", seen)
	}
}

func TestRunSignalAndMissingExit(t *testing.T) {
	e := newEnv(t, sshtest.Options{Handler: sshtest.Rules(
		sshtest.Rule{Match: "^killed$", Response: sshtest.Response{Stdout: "partial", Signal: "KILL"}},
		sshtest.Rule{Match: "^noexit$", Response: sshtest.Response{NoExit: true}},
	)}, nil)
	ctx := testCtx(t)
	o := run(ctx, e.client, e.host, engine.CommandRequest{Script: "killed"})
	if o.err != nil || o.res.Signal != "KILL" || o.res.Exit != -1 || o.stdout != "partial" {
		t.Fatalf("killed by signal: %+v", o)
	}
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "noexit"})
	if !errors.Is(o.err, rbssh.ErrNoExitStatus) || errors.Is(o.err, rbssh.ErrConnectionLost) {
		t.Fatalf("no exit status: want ErrNoExitStatus, got %+v", o)
	}
	var te *engine.TransportError
	if !errors.As(o.err, &te) || te.Host != e.host {
		t.Errorf("error should name the host: %v", o.err)
	}
}

func TestRunHangCancelAndRemoteTimeout(t *testing.T) {
	started := make(chan struct{}, 4)
	e := newEnv(t, sshtest.Options{Handler: func(r *sshtest.Request) *sshtest.Response {
		started <- struct{}{}
		return &sshtest.Response{Hang: true}
	}}, nil)
	ctx := testCtx(t)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan runOut, 1)
	go func() { done <- run(cctx, e.client, e.host, engine.CommandRequest{Script: "sleep 1000"}) }()
	<-started
	cancel()
	o := <-done
	if !errors.Is(o.err, context.Canceled) || o.res.Exit != -1 {
		t.Fatalf("cancel: %+v", o)
	}
	// The remote timeout(1) ends the command: exit 124, reported as timed out.
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "sleep 1000", Timeout: time.Second})
	if o.err != nil || !o.res.TimedOut {
		t.Fatalf("remote timeout: %+v", o)
	}
	// The connection survived both.
	if e.srv.Accepted() != 1 {
		t.Errorf("connections: %d", e.srv.Accepted())
	}
}

func TestDropIsTransportErrorAndRedial(t *testing.T) {
	e := newEnv(t, sshtest.Options{Handler: sshtest.Rules(
		sshtest.Rule{Match: "^crash$", Response: sshtest.Response{Drop: true}},
		sshtest.Rule{Match: "^true$", Response: sshtest.Response{}},
	)}, nil)
	ctx := testCtx(t)
	o := run(ctx, e.client, e.host, engine.CommandRequest{Script: "crash"})
	if !errors.Is(o.err, rbssh.ErrConnectionLost) {
		t.Fatalf("drop: want ErrConnectionLost, got %+v (%v)", o, o.err)
	}
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "true"})
	if o.err != nil || o.res.Exit != 0 {
		t.Fatalf("after drop: %+v", o)
	}
	e.srv.DropAll() // the host restarts between steps
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "true"})
	if o.err != nil || o.res.Exit != 0 {
		t.Fatalf("after restart: %+v", o)
	}
	if e.srv.Accepted() != 3 {
		t.Errorf("connections: %d, want 3 (one re-dial per break)", e.srv.Accepted())
	}
}

func TestKeepaliveDeclaresVanishedHostDead(t *testing.T) {
	started := make(chan struct{}, 1)
	e := newEnv(t, sshtest.Options{Handler: func(r *sshtest.Request) *sshtest.Response {
		if r.Command.Script == "true" {
			return &sshtest.Response{}
		}
		started <- struct{}{}
		return &sshtest.Response{Hang: true}
	}}, func(c *rbssh.Config) { c.KeepaliveInterval, c.KeepaliveMax = 50*time.Millisecond, 3 })
	ctx := testCtx(t)
	done := make(chan runOut, 1)
	go func() { done <- run(ctx, e.client, e.host, engine.CommandRequest{Script: "tail -f log"}) }()
	<-started
	e.srv.Freeze()
	o := <-done
	if !errors.Is(o.err, rbssh.ErrHostDead) {
		t.Fatalf("frozen host: want ErrHostDead, got %+v", o)
	}
	if !engine.IsTimeout(o.err) || !engine.CanRetry(o.err) {
		t.Errorf("a dead host is a timeout the driver may retry: IsTimeout %v, CanRetry %v", engine.IsTimeout(o.err), engine.CanRetry(o.err))
	}
	e.srv.Thaw()
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "true"})
	if o.err != nil || o.res.Exit != 0 {
		t.Fatalf("after thaw, re-dial: %+v", o)
	}
}

func TestMaxSessionsQueues(t *testing.T) {
	e := newEnv(t, sshtest.Options{MaxSessions: 2, Handler: func(r *sshtest.Request) *sshtest.Response {
		return &sshtest.Response{Stdout: r.Command.Script, Delay: 20 * time.Millisecond}
	}}, func(c *rbssh.Config) { c.MaxSessions = 2 })
	ctx := testCtx(t)
	var wg sync.WaitGroup
	outs := make([]runOut, 7)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = run(ctx, e.client, e.host, engine.CommandRequest{Script: fmt.Sprint("echo ", i)})
		}()
	}
	wg.Wait()
	for i, o := range outs {
		if o.err != nil || o.res.Exit != 0 || o.stdout != fmt.Sprint("echo ", i) {
			t.Errorf("command %d: %+v", i, o)
		}
	}
	if p := e.srv.PeakSessions(); p > 2 {
		t.Errorf("server saw %d sessions at once, cap is 2", p)
	}
	if e.srv.Accepted() != 1 {
		t.Errorf("connections: %d", e.srv.Accepted())
	}
}

func TestHandshakeThatNeverHappens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accept TCP, never speak SSH
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	c, err := rbssh.New(rbssh.Config{NoAgent: true, NoDefaultIdentities: true, NoSSHConfig: true,
		KnownHosts: []string{filepath.Join(t.TempDir(), "kh")}, HandshakeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := run(testCtx(t), c, engine.Host{Name: "u@" + ln.Addr().String()}, engine.CommandRequest{Script: "true"})
	if !errors.Is(o.err, rbssh.ErrHandshakeTimeout) {
		t.Fatalf("want ErrHandshakeTimeout, got %v", o.err)
	}
	if !engine.IsTimeout(o.err) || !engine.CanRetry(o.err) || engine.IsAuthFailure(o.err) {
		t.Errorf("handshake timeout kinds: IsTimeout %v, CanRetry %v, IsAuthFailure %v", engine.IsTimeout(o.err), engine.CanRetry(o.err), engine.IsAuthFailure(o.err))
	}
}

func TestChangedHostKeyIsHardStop(t *testing.T) {
	for _, pol := range []rbssh.Policy{rbssh.PolicyStrict, rbssh.PolicyAcceptNew, rbssh.PolicyAsk} {
		t.Run(string(pol), func(t *testing.T) {
			asked := false
			e := newEnv(t, sshtest.Options{Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, func(c *rbssh.Config) {
				c.HostKeyPolicy = pol
				c.HostKeyPrompt = func(host, addr string, key gossh.PublicKey, fp string) (bool, error) { asked = true; return true, nil }
			})
			other, _ := sshtest.NewSigner()
			old := fmt.Sprintf("[127.0.0.1]:%d %s", e.srv.Port(), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(other.PublicKey()))))
			writeFile(t, e.known, old+"\n")
			c := e.newClient(e.clientConfigWith(pol, &asked))
			o := run(testCtx(t), c, e.host, engine.CommandRequest{Script: "true"})
			var ch *rbssh.HostKeyChangedError
			if !errors.As(o.err, &ch) || !errors.Is(o.err, rbssh.ErrHostKeyChanged) {
				t.Fatalf("want HostKeyChangedError, got %v", o.err)
			}
			if engine.CanRetry(o.err) {
				t.Errorf("a changed host key must not be retryable")
			}
			msg := o.err.Error()
			if !strings.Contains(msg, gossh.FingerprintSHA256(e.srv.HostKey())) || !strings.Contains(msg, gossh.FingerprintSHA256(other.PublicKey())) {
				t.Errorf("message must show both fingerprints: %s", msg)
			}
			if asked {
				t.Errorf("policy %s asked about a changed key", pol)
			}
			if b, _ := os.ReadFile(e.known); string(b) != old+"\n" {
				t.Errorf("known_hosts was modified: %q", b)
			}
		})
	}
}

// clientConfigWith is the env's config with a policy and a prompt that
// records whether it was called and says yes.
func (e *env) clientConfigWith(pol rbssh.Policy, asked *bool) rbssh.Config {
	c := e.config()
	c.HostKeyPolicy = pol
	c.HostKeyPrompt = func(host, addr string, key gossh.PublicKey, fp string) (bool, error) {
		*asked = true
		return true, nil
	}
	return c
}

func TestUnknownHostPolicies(t *testing.T) {
	e := newEnv(t, sshtest.Options{Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, nil)
	ctx := testCtx(t)
	fp := gossh.FingerprintSHA256(e.srv.HostKey())
	empty := func() string { p := filepath.Join(t.TempDir(), "known_hosts"); return p }

	// strict: refused, with the fingerprint in the error.
	c := e.config()
	c.KnownHosts = []string{empty()}
	o := run(ctx, e.newClient(c), e.host, engine.CommandRequest{Script: "true"})
	var uh *rbssh.UnknownHostError
	if !errors.As(o.err, &uh) || uh.Fingerprint != fp {
		t.Fatalf("strict: want UnknownHostError with %s, got %v", fp, o.err)
	}

	// ask, answered no; then yes (recorded).
	for _, yes := range []bool{false, true} {
		c = e.config()
		kh := empty()
		c.KnownHosts, c.HostKeyPolicy = []string{kh}, rbssh.PolicyAsk
		var gotFP, gotHost string
		c.HostKeyPrompt = func(host, addr string, key gossh.PublicKey, f string) (bool, error) {
			gotHost, gotFP = host, f
			return yes, nil
		}
		o = run(ctx, e.newClient(c), e.host, engine.CommandRequest{Script: "true"})
		if gotFP != fp || !strings.Contains(gotHost, fmt.Sprint(e.srv.Port())) {
			t.Errorf("ask: prompt got host %q fingerprint %q", gotHost, gotFP)
		}
		if yes != (o.err == nil) {
			t.Fatalf("ask answered %v: err %v", yes, o.err)
		}
		b, _ := os.ReadFile(kh)
		if yes != strings.Contains(string(b), fmt.Sprintf("[127.0.0.1]:%d", e.srv.Port())) {
			t.Errorf("ask answered %v: known_hosts = %q", yes, b)
		}
	}

	// accept-new: trusted and recorded, and a strict client then accepts it.
	kh := empty()
	c = e.config()
	c.KnownHosts, c.HostKeyPolicy = []string{kh}, rbssh.PolicyAcceptNew
	if o = run(ctx, e.newClient(c), e.host, engine.CommandRequest{Script: "true"}); o.err != nil {
		t.Fatalf("accept-new: %v", o.err)
	}
	c.HostKeyPolicy = rbssh.PolicyStrict
	if o = run(ctx, e.newClient(c), e.host, engine.CommandRequest{Script: "true"}); o.err != nil {
		t.Fatalf("strict after accept-new recorded the key: %v", o.err)
	}
}

func TestKnownHostsFormats(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, _ := gossh.NewSignerFromKey(ecKey)
	e := newEnv(t, sshtest.Options{ExtraHostKeys: []gossh.Signer{ecSigner},
		Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, nil)
	ctx := testCtx(t)
	addr := fmt.Sprintf("[127.0.0.1]:%d", e.srv.Port())
	edLine := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(e.srv.HostKey())))
	try := func(name, known string) error {
		c := e.config()
		c.KnownHosts = []string{filepath.Join(t.TempDir(), "kh")}
		writeFile(t, c.KnownHosts[0], known)
		return run(ctx, e.newClient(c), e.host, engine.CommandRequest{Script: "true"}).err
	}
	// Only the ed25519 key is known (as after `ssh` with OpenSSH's
	// defaults) while the server also offers ECDSA, which x/crypto would
	// prefer: HostKeyAlgorithms from known_hosts avoids a false "changed".
	if err := try("ed25519 only", addr+" "+edLine+"\n"); err != nil {
		t.Errorf("ed25519-only known_hosts: %v", err)
	}
	if err := try("hashed", xknownhosts.HashHostname(addr)+" "+edLine+"\n"); err != nil {
		t.Errorf("hashed entry: %v", err)
	}
	err = try("revoked", "@revoked * "+edLine+"\n"+addr+" "+edLine+"\n")
	if !errors.Is(err, rbssh.ErrHostKeyRevoked) {
		t.Errorf("@revoked: want ErrHostKeyRevoked, got %v", err)
	}
}

func TestCertAuthorityHostKey(t *testing.T) {
	ca, _ := sshtest.NewSigner()
	hostKey, _ := sshtest.NewSigner()
	cert := &gossh.Certificate{Key: hostKey.PublicKey(), CertType: gossh.HostCert, KeyId: "host",
		ValidPrincipals: []string{"127.0.0.1"}, ValidBefore: gossh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	certSigner, err := gossh.NewCertSigner(cert, hostKey)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sshtest.Options{HostKey: certSigner, Handler: sshtest.Rules(sshtest.Rule{Match: ".", Response: sshtest.Response{}})}, nil)
	c := e.config()
	c.KnownHosts = []string{filepath.Join(t.TempDir(), "kh")}
	writeFile(t, c.KnownHosts[0], "@cert-authority * "+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(ca.PublicKey())))+"\n")
	if o := run(testCtx(t), e.newClient(c), e.host, engine.CommandRequest{Script: "true"}); o.err != nil {
		t.Fatalf("host certificate signed by a trusted CA: %v", o.err)
	}
}

func TestSudo(t *testing.T) {
	var raw []string
	var mu sync.Mutex
	e := newEnv(t, sshtest.Options{SudoPassword: "s3cret", Handler: func(r *sshtest.Request) *sshtest.Response {
		mu.Lock()
		raw = append(raw, r.Raw)
		mu.Unlock()
		if !r.Command.Sudo {
			return &sshtest.Response{Stderr: "not root\n", Exit: 1}
		}
		return &sshtest.Response{Stdout: "root\n"}
	}}, nil)
	ctx := testCtx(t)
	o := run(ctx, e.client, e.host, engine.CommandRequest{Script: "id -un", Sudo: true})
	var spe *rbssh.SudoPasswordError
	if !errors.As(o.err, &spe) || !errors.Is(o.err, rbssh.ErrSudoPassword) {
		t.Fatalf("sudo -n without password: want SudoPasswordError, got %+v", o)
	}
	c := e.config()
	prompts := 0
	c.SudoPassword = func(host string) ([]byte, error) { prompts++; return []byte("s3cret"), nil }
	o = run(ctx, e.newClient(c), e.host, engine.CommandRequest{Script: "id -un", Sudo: true})
	if o.err != nil || o.stdout != "root\n" || prompts != 1 {
		t.Fatalf("sudo with password prompt: %+v (prompts %d)", o, prompts)
	}
	o = run(ctx, e.client, e.host, engine.CommandRequest{Script: "id -un", Sudo: true, Stdin: []byte("s3cret")})
	if o.err != nil || o.stdout != "root\n" {
		t.Fatalf("sudo with password on stdin: %+v", o)
	}
	for _, r := range raw {
		if strings.Contains(r, "s3cret") {
			t.Errorf("password in the command line: %q", r)
		}
	}
}

func TestFetchOverSFTP(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "var/log/app/a.log"), "alpha\n")
	writeFile(t, filepath.Join(root, "var/log/app/b.log"), strings.Repeat("0123456789", 300000)) // 3 MB, more than one 2 MiB chunk
	writeFile(t, filepath.Join(root, "var/log/app/old.log"), "old\n")
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(root, "var/log/app/old.log"), old, old)
	os.Symlink("/etc/shadow", filepath.Join(root, "var/log/app/shadow.log"))
	os.Symlink("../../..", filepath.Join(root, "var/log/app/up.log"))
	for _, sudo := range []bool{false, true} {
		t.Run(fmt.Sprint("sudo=", sudo), func(t *testing.T) {
			e := newEnv(t, sshtest.Options{Root: root}, nil)
			col := newMemCollector()
			err := e.client.Fetch(testCtx(t), e.host, engine.FetchRequest{Step: "c", Globs: []string{"/var/log/app/*.log", "/var/log/app/a.log"},
				Since: time.Hour, MaxBytes: 2500000, Sudo: sudo}, col)
			if err != nil {
				t.Fatal(err)
			}
			if col.files["/var/log/app/a.log"] != "alpha\n" {
				t.Errorf("a.log = %q", col.files["/var/log/app/a.log"])
			}
			b := col.meta["/var/log/app/b.log"]
			if b.Offset != 500000 || b.Size != 3000000 || len(col.files["/var/log/app/b.log"]) != 2500000 ||
				col.files["/var/log/app/b.log"] != strings.Repeat("0123456789", 300000)[500000:] {
				t.Errorf("b.log tail: offset %d size %d got %d bytes", b.Offset, b.Size, len(col.files["/var/log/app/b.log"]))
			}
			if _, ok := col.files["/var/log/app/old.log"]; ok {
				t.Errorf("old.log is outside since")
			}
			for _, l := range []string{"shadow.log", "up.log"} {
				p := "/var/log/app/" + l
				if _, ok := col.files[p]; ok || !strings.Contains(col.skipped[p], "not followed") {
					t.Errorf("%s: fetched=%v skipped=%q", l, ok, col.skipped[p])
				}
			}
			if strings.Join(col.order, ",") != "/var/log/app/a.log,/var/log/app/b.log" {
				t.Errorf("order %v", col.order)
			}
		})
	}
}

func TestFetchSudoNeedsPassword(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "secure.log"), "x\n")
	e := newEnv(t, sshtest.Options{Root: root, SudoPassword: "pw"}, nil)
	err := e.client.Fetch(testCtx(t), e.host, engine.FetchRequest{Globs: []string{"/*.log"}, Sudo: true}, newMemCollector())
	if !errors.Is(err, rbssh.ErrSudoPassword) {
		t.Fatalf("want ErrSudoPassword, got %v", err)
	}
	c := e.config()
	c.SudoPassword = func(string) ([]byte, error) { return []byte("pw"), nil }
	col := newMemCollector()
	if err := e.newClient(c).Fetch(testCtx(t), e.host, engine.FetchRequest{Globs: []string{"/*.log"}, Sudo: true}, col); err != nil || col.files["/secure.log"] != "x\n" {
		t.Fatalf("with password: %v %v", err, col.files)
	}
}
