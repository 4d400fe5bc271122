package ssh_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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

// startOpenSSH starts a real sshd for the test (extraConfig lines replace
// sshd_config defaults); it skips only when there is no sshd binary, and
// says loudly that it ran.
func startOpenSSH(t *testing.T, extraConfig ...string) *sshtest.OpenSSH {
	t.Helper()
	o, err := sshtest.StartOpenSSH(t.TempDir(), extraConfig...)
	if errors.Is(err, sshtest.ErrNoSSHD) {
		t.Skip("SKIP real OpenSSH test: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	t.Logf("real OpenSSH sshd running on %s", o.Addr())
	how := ""
	if len(extraConfig) > 0 {
		how = " (" + strings.Join(extraConfig, "; ") + ")"
	}
	fmt.Fprintf(os.Stderr, "=== %s: ran against real OpenSSH sshd on %s%s\n", t.Name(), o.Addr(), how)
	return o
}

// remoteAlive reports whether a process whose command line contains s is
// still running (the sshd is on this machine).
func remoteAlive(s string) bool {
	return exec.Command("pgrep", "-f", s).Run() == nil
}

// waitGone polls (bounded: 100 × 50 ms) until no process matches s.
func waitGone(s string) bool {
	for range 100 {
		if !remoteAlive(s) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func TestOpenSSH(t *testing.T) {
	o := startOpenSSH(t)
	c, err := rbssh.New(o.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := engine.Host{Role: "real", Name: o.Target()}
	ctx := testCtx(t)

	t.Run("exec", func(t *testing.T) {
		// Quoting survives the login shell: $HOME is expanded by the remote
		// sh (the empty HOME from sshd_config), the quotes are literal.
		out := run(ctx, c, h, engine.CommandRequest{Script: `printf '%s|' "it's" "$HOME"; echo oops >&2; exit 3`, Timeout: 10 * time.Second})
		if out.err != nil || out.res.Exit != 3 || out.stdout != "it's|"+o.Home+"|" || out.stderr != "oops\n" {
			t.Fatalf("%+v", out)
		}
		out = run(ctx, c, h, engine.CommandRequest{Script: "true"})
		if out.err != nil || out.res.Exit != 0 {
			t.Fatalf("true: %+v", out)
		}
		// The script sees no positional parameters and its own $$ and $PPID
		// (a script naming them gets its own shell, the rest a subshell).
		out = run(ctx, c, h, engine.CommandRequest{Script: `echo "$#:${1-none}"; [ "$(sh -c 'echo $PPID')" = "$$" ] && echo own-pid`})
		if out.err != nil || out.res.Exit != 0 || out.stdout != "0:none\nown-pid\n" {
			t.Fatalf("positional parameters or $$: %+v", out)
		}
		out = run(ctx, c, h, engine.CommandRequest{Script: "kill -KILL $$"})
		if out.err != nil || out.res.Signal != "KILL" || out.res.Exit != -1 {
			t.Fatalf("killed by signal: %+v", out)
		}
	})

	t.Run("the command stays out of the host's process list and has no length limit", func(t *testing.T) {
		// Every user on a host can read every process's argv: a param
		// (a password, a token) in the wrapper's argv would be theirs.
		marker := fmt.Sprintf("runbook-secret-%d", rand.Int64())
		out := run(ctx, c, h, engine.CommandRequest{Script: ": " + marker + "; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done 2>/dev/null"})
		if out.err != nil || out.res.Exit != 0 || !strings.Contains(out.stdout, "/bin/sh -s") {
			t.Fatalf("process list: %+v", out.err)
		}
		if strings.Contains(out.stdout, marker) {
			t.Errorf("the script is in a process's argv on the host:\n%s", out.stdout)
		}
		big := strings.Repeat("0123456789", 30<<10) // 300 KiB: more than one exec(2) argument may hold
		out = run(ctx, c, h, engine.CommandRequest{Script: "printf %s " + big + " | wc -c"})
		if out.err != nil || out.res.Exit != 0 || strings.TrimSpace(out.stdout) != fmt.Sprint(len(big)) {
			t.Fatalf("a 300 KiB script: %+v (%v)", out.res, out.err)
		}
	})

	t.Run("timeout leaves no orphan", func(t *testing.T) {
		a, b := 900000+rand.IntN(90000), 990000+rand.IntN(9000)
		marker := fmt.Sprintf("runbook-orphan-%d", rand.Int64())
		script := fmt.Sprintf("sleep %d & sleep %d; : %s", a, b, marker)
		out := run(ctx, c, h, engine.CommandRequest{Script: script, Timeout: time.Second})
		if out.err != nil || !out.res.TimedOut {
			t.Fatalf("want timed out, got %+v", out)
		}
		for _, s := range []string{marker, fmt.Sprint("sleep ", a), fmt.Sprint("sleep ", b)} {
			if !waitGone(s) {
				t.Errorf("remote process %q survived the timeout", s)
			}
		}
	})

	t.Run("timeout keeps the output and runs the TERM handler", func(t *testing.T) {
		out := run(ctx, c, h, engine.CommandRequest{Script: "echo before; trap 'echo got-term; exit 7' TERM; sleep 600 & wait", Timeout: time.Second})
		if out.err != nil || !out.res.TimedOut || out.stdout != "before\ngot-term\n" || out.stderr != "" {
			t.Fatalf("want timed out with both lines and no wrapper report, got %+v", out)
		}
	})

	t.Run("a command deaf to TERM is killed after KillAfter", func(t *testing.T) {
		cfg := o.Config()
		cfg.KillAfter = time.Second
		c2, err := rbssh.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		a := 700000 + rand.IntN(90000)
		start := time.Now()
		out := run(ctx, c2, h, engine.CommandRequest{Script: fmt.Sprintf("trap '' TERM; sleep %d", a), Timeout: time.Second})
		if out.err != nil || !out.res.TimedOut {
			t.Fatalf("want timed out, got %+v", out)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("took %s: KILL did not follow TERM after 1 s", d)
		}
		if !waitGone(fmt.Sprint("sleep ", a)) {
			t.Errorf("remote sleep %d ignored TERM and survived KILL", a)
		}
	})

	t.Run("the wrapper execs nothing on the host", func(t *testing.T) {
		// Every process of the command's group is /bin/sh (the bootstrap,
		// the script's subshell, the watchdog) or the script's own: no
		// timeout(1), no second sh -c, which cost the host an exec a step.
		out := run(ctx, c, h, engine.CommandRequest{Script: `g=$(ps -o pgid= -p $$); t=$(mktemp); ps -eo pgid=,comm= >"$t"; awk -v g="$g" '$1 == g + 0 { print $2 }' "$t"; rm -f "$t"`, Timeout: 10 * time.Second})
		if out.err != nil || out.res.Exit != 0 {
			t.Fatalf("%+v", out)
		}
		shells := 0
		for _, comm := range strings.Fields(out.stdout) {
			switch comm {
			case "sh", "dash":
				shells++
			case "ps", "awk", "mawk", "gawk":
			default:
				t.Errorf("process %q in the command's group: %q", comm, out.stdout)
			}
		}
		if shells > 3 {
			t.Errorf("%d shells in the command's group, want at most 3: %q", shells, out.stdout)
		}
	})

	t.Run("cancel leaves no orphan", func(t *testing.T) {
		a := 800000 + rand.IntN(90000)
		script := fmt.Sprintf("sleep %d & wait; echo not reached", a)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan runOut, 1)
		go func() { done <- run(cctx, c, h, engine.CommandRequest{Script: script, Timeout: time.Hour}) }()
		// Bounded wait for the remote sleep to exist before cancelling.
		for i := 0; i < 200 && !remoteAlive(fmt.Sprint("sleep ", a)); i++ {
			time.Sleep(25 * time.Millisecond)
		}
		cancel()
		out := <-done
		if !errors.Is(out.err, context.Canceled) {
			t.Fatalf("cancel: %+v", out)
		}
		if !waitGone(fmt.Sprint("sleep ", a)) {
			t.Errorf("remote sleep %d survived the cancel", a)
		}
	})

	t.Run("sftp fetch", func(t *testing.T) {
		dir := filepath.Join(o.Dir, "logs")
		os.MkdirAll(dir, 0o755)
		big := strings.Repeat("abcdefghij", 500000) // 5 MB
		os.WriteFile(filepath.Join(dir, "big.log"), []byte(big), 0o644)
		os.WriteFile(filepath.Join(dir, "small.log"), []byte("small\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "old.log"), []byte("old\n"), 0o644)
		old := time.Now().Add(-2 * time.Hour)
		os.Chtimes(filepath.Join(dir, "old.log"), old, old)
		os.Symlink("/etc/passwd", filepath.Join(dir, "passwd.log"))
		col := newMemCollector()
		err := c.Fetch(ctx, h, engine.FetchRequest{Step: "collect", Globs: []string{dir + "/*.log"}, Since: time.Hour, MaxBytes: 4 << 20}, col)
		if err != nil {
			t.Fatal(err)
		}
		if col.files[dir+"/small.log"] != "small\n" || col.files[dir+"/big.log"] != big[len(big)-4<<20:] || col.meta[dir+"/big.log"].Offset != int64(len(big)-4<<20) {
			t.Errorf("fetched: small=%q big %d bytes offset %d", col.files[dir+"/small.log"], len(col.files[dir+"/big.log"]), col.meta[dir+"/big.log"].Offset)
		}
		if _, ok := col.files[dir+"/old.log"]; ok {
			t.Error("old.log outside since")
		}
		if _, ok := col.files[dir+"/passwd.log"]; ok || !strings.Contains(col.skipped[dir+"/passwd.log"], "/etc/passwd") {
			t.Errorf("symlink followed or not recorded: %q", col.skipped[dir+"/passwd.log"])
		}
	})

	t.Run("strict refuses a changed key", func(t *testing.T) {
		other, _ := sshtest.NewSigner()
		kh := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, kh, fmt.Sprintf("[127.0.0.1]:%d %s", o.Port, gossh.MarshalAuthorizedKey(other.PublicKey())))
		cfg := o.Config()
		cfg.KnownHosts = []string{kh}
		c2, err := rbssh.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		out := run(ctx, c2, h, engine.CommandRequest{Script: "true"})
		var ch *rbssh.HostKeyChangedError
		if !errors.As(out.err, &ch) || !strings.Contains(out.err.Error(), gossh.FingerprintSHA256(o.HostKey)) {
			t.Fatalf("want HostKeyChangedError with the server's fingerprint, got %v", out.err)
		}
		cfg.KnownHosts = []string{filepath.Join(t.TempDir(), "empty")}
		c3, _ := rbssh.New(cfg)
		defer c3.Close()
		if out := run(ctx, c3, h, engine.CommandRequest{Script: "true"}); !errors.Is(out.err, rbssh.ErrHostUnknown) {
			t.Fatalf("strict with an unknown host: %v", out.err)
		}
	})
}

// TestOpenSSHMaxSessions: five concurrent probes against a server whose
// MaxSessions is below our cap all succeed (queued, not refused).
func TestOpenSSHMaxSessions(t *testing.T) {
	for _, max := range []int{1, 2} {
		t.Run(fmt.Sprint("MaxSessions ", max), func(t *testing.T) {
			o := startOpenSSH(t, fmt.Sprint("MaxSessions ", max))
			c, err := rbssh.New(o.Config())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h := engine.Host{Role: "real", Name: o.Target()}
			ctx := testCtx(t)
			outs := make([]runOut, 5)
			var wg sync.WaitGroup
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outs[i] = run(ctx, c, h, engine.CommandRequest{Script: fmt.Sprintf("sleep 0.2; echo %d", i), Timeout: 30 * time.Second})
				}()
			}
			wg.Wait()
			for i, out := range outs {
				if out.err != nil || out.res.Exit != 0 || out.stdout != fmt.Sprintf("%d\n", i) {
					t.Errorf("probe %d: %+v (%v)", i, out, out.err)
				}
			}
		})
	}
}

// TestOpenSSHForceCommand: a host whose ForceCommand runs the command with
// stdin from /dev/null is reported as such, not as a result or a killed
// command, and nothing of the script ran.
func TestOpenSSHForceCommand(t *testing.T) {
	o := startOpenSSH(t, `ForceCommand eval "$SSH_ORIGINAL_COMMAND" </dev/null`)
	c, err := rbssh.New(o.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ran := filepath.Join(t.TempDir(), "ran")
	out := run(testCtx(t), c, engine.Host{Role: "real", Name: o.Target()}, engine.CommandRequest{Script: "touch " + engine.ShellQuote(ran) + "; echo done", Timeout: 30 * time.Second})
	if !errors.Is(out.err, rbssh.ErrStdinClosed) || !errors.Is(out.err, rbssh.ErrWrapperNotStarted) || !strings.Contains(out.err.Error(), "ForceCommand") {
		t.Fatalf("want ErrStdinClosed and ErrWrapperNotStarted naming ForceCommand, got %+v (%v)", out, out.err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Errorf("the script ran on a host that would not let runbook stop it")
	}
	if strings.Contains(out.stderr, "stdin-eof") || strings.Contains(out.stderr, ":start") {
		t.Errorf("wrapper markers leaked into stderr: %q", out.stderr)
	}
}

// TestOpenSSHHostCertificate: a host certificate made by ssh-keygen and
// trusted through @cert-authority is accepted, with OpenSSH's pattern
// rules (negation, port-less entries); a CA line that does not match the
// host is not trust.
func TestOpenSSHHostCertificate(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("SKIP host certificate test: no ssh-keygen")
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", ca).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen ca: %v %s", err, out)
	}
	caPub, err := os.ReadFile(ca + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sdir := filepath.Join(dir, "sshd")
	if err := os.Mkdir(sdir, 0o700); err != nil {
		t.Fatal(err)
	}
	o, err := sshtest.StartOpenSSHWith(sdir, sshtest.OpenSSHOptions{HostCA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	fmt.Fprintf(os.Stderr, "=== %s: ran against real OpenSSH sshd on %s with a host certificate\n", t.Name(), o.Addr())
	caLine := strings.TrimSpace(string(caPub))
	h := engine.Host{Role: "real", Name: o.Target()}
	hostport := fmt.Sprintf("[127.0.0.1]:%d", o.Port)
	for _, c := range []struct {
		name, known string
		ok          bool
	}{
		{"hostport", "@cert-authority " + hostport + " " + caLine, true},
		{"wildcard", "@cert-authority * " + caLine, true},
		{"wildcard port", "@cert-authority [127.0.0.*]:* " + caLine, true},
		{"wildcard port negated", "@cert-authority [127.0.0.*]:*,![127.0.0.1]:* " + caLine, false},
		{"negated", "@cert-authority *,!" + hostport + " " + caLine, false},
		{"negated other", "@cert-authority *,!10.0.0.1 " + caLine, true},
		// OpenSSH: a pattern without a port matches port 22 only.
		{"port-less", "@cert-authority 127.0.0.1 " + caLine, false},
		{"other host", "@cert-authority 10.0.0.1 " + caLine, false},
		{"plain key line is not a CA", hostport + " " + caLine, false},
		// OpenSSH checks a certificate no CA vouches for as its plain key.
		{"plain host key", hostport + " " + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(o.HostKey))), true},
		{"plain host key, wildcard port", "[127.0.0.1]:* " + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(o.HostKey))), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			writeFile(t, kh, c.known+"\n")
			cfg := o.Config()
			cfg.KnownHosts = []string{kh}
			cl, err := rbssh.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			out := run(testCtx(t), cl, h, engine.CommandRequest{Script: "echo ok"})
			if c.ok && (out.err != nil || out.stdout != "ok\n") {
				t.Fatalf("%s: want accepted, got %v", c.known, out.err)
			}
			if !c.ok && out.err == nil {
				t.Fatalf("%s: accepted, want refused", c.known)
			}
			if c.ok && strings.HasPrefix(c.known, "@cert-authority") {
				// What the bundle records: trusted by the CA's line.
				info, ok := cl.HostKey(h.Name)
				caFP := gossh.FingerprintSHA256(mustParseAuthorizedKey(t, caPub))
				if !ok || info.Trust != rbssh.TrustCertAuthority || info.Source != kh+":1" || info.CAFingerprint != caFP ||
					info.Fingerprint != gossh.FingerprintSHA256(o.HostKey) || info.KeyType != gossh.CertAlgoED25519v01 {
					t.Errorf("HostKey = %+v, %v", info, ok)
				}
			}
		})
	}
}

// TestOpenSSHHostCertificateFirstContact: a host presenting a certificate
// no CA in known_hosts vouches for is, as with OpenSSH, a host with its
// plain key: accept-new records that key (x/crypto alone says "no
// authorities for hostname" and the host can never be trusted).
func TestOpenSSHHostCertificateFirstContact(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("SKIP host certificate test: no ssh-keygen")
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", ca).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen ca: %v %s", err, out)
	}
	sdir := filepath.Join(dir, "sshd")
	if err := os.Mkdir(sdir, 0o700); err != nil {
		t.Fatal(err)
	}
	o, err := sshtest.StartOpenSSHWith(sdir, sshtest.OpenSSHOptions{HostCA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	kh := filepath.Join(t.TempDir(), "known_hosts")
	cfg := o.Config()
	cfg.KnownHosts, cfg.HostKeyPolicy = []string{kh}, rbssh.PolicyAcceptNew
	cl, err := rbssh.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h := engine.Host{Role: "real", Name: o.Target()}
	if out := run(testCtx(t), cl, h, engine.CommandRequest{Script: "echo ok"}); out.err != nil || out.stdout != "ok\n" {
		t.Fatalf("accept-new with a host certificate: %+v (%v)", out, out.err)
	}
	b, _ := os.ReadFile(kh)
	if !strings.Contains(string(b), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(o.HostKey)))) {
		t.Errorf("known_hosts does not hold the plain host key: %q", b)
	}
	if info, ok := cl.HostKey(h.Name); !ok || info.Trust != rbssh.TrustAcceptNew || info.Fingerprint != gossh.FingerprintSHA256(o.HostKey) {
		t.Errorf("HostKey = %+v %v", info, ok)
	}
}

func mustParseAuthorizedKey(t *testing.T, b []byte) gossh.PublicKey {
	t.Helper()
	k, _, _, _, err := gossh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
