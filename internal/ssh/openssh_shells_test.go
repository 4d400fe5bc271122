package ssh_test

import (
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

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// loginShells are the login shells a target account may have. The tests
// log in as one system user per shell (created when missing, never
// deleted, so parallel test processes share them).
var loginShells = []struct{ user, shell string }{
	{"runbook-t-sh", "/bin/sh"},
	{"runbook-t-bash", "/bin/bash"},
	{"runbook-t-dash", "/bin/dash"},
	{"runbook-t-zsh", "/bin/zsh"},
	{"runbook-t-fish", "/usr/bin/fish"},
	{"runbook-t-tcsh", "/usr/bin/tcsh"},
}

// ensureUser makes a system user with the given login shell, usable for
// key login with UsePAM no (password "*": not locked, no password).
func ensureUser(t *testing.T, name, shell string) {
	t.Helper()
	cur := func() (string, bool) {
		out, err := exec.Command("getent", "passwd", name).Output()
		if err != nil {
			return "", false
		}
		f := strings.Split(strings.TrimSpace(string(out)), ":")
		return f[len(f)-1], true
	}
	sh, ok := cur()
	if !ok {
		out, err := exec.Command("useradd", "--system", "-M", "-N", "-d", "/", "-s", shell, "-c", "runbook test login shell", name).CombinedOutput()
		if _, ok := cur(); !ok { // another test process may have won the race
			t.Fatalf("useradd %s: %v %s", name, err, out)
		}
	} else if sh != shell {
		if out, err := exec.Command("usermod", "-s", shell, name).CombinedOutput(); err != nil {
			t.Fatalf("usermod -s %s %s: %v %s", shell, name, err, out)
		}
	}
	if out, err := exec.Command("usermod", "-d", "/", "-p", "*", name).CombinedOutput(); err != nil {
		t.Fatalf("usermod -p %s: %v %s", name, err, out)
	}
}

// startShellsSSHD starts a real sshd that the per-shell users can log in
// to; it skips (loudly) when not root or a shell is not installed, and
// says that it ran.
func startShellsSSHD(t *testing.T) (*sshtest.OpenSSH, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP login-shell test: needs root to create the test users (useradd); CI runs it as root")
	}
	for _, s := range loginShells {
		if _, err := os.Stat(s.shell); err != nil {
			t.Skipf("SKIP login-shell test: %s not installed (apt-get install -y fish tcsh zsh)", s.shell)
		}
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("SKIP login-shell test: no useradd")
	}
	for _, s := range loginShells {
		ensureUser(t, s.user, s.shell)
	}
	ensureUser(t, "runbook-t-true", "/bin/true")
	ensureUser(t, "runbook-t-false", "/bin/false")
	dir := t.TempDir()
	// The users read authorized_keys and write marker files under here.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o, err := sshtest.StartOpenSSH(dir)
	if errors.Is(err, sshtest.ErrNoSSHD) {
		t.Skip("SKIP real OpenSSH test: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := os.Chmod(filepath.Join(dir, "authorized_keys"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(o.Home, 0o777); err != nil { // fish and zsh write their state in HOME
		t.Fatal(err)
	}
	marks := filepath.Join(dir, "marks")
	if err := os.Mkdir(marks, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(marks, 0o777); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "=== %s: ran against real OpenSSH sshd on %s with login shells sh bash dash zsh fish tcsh\n", t.Name(), o.Addr())
	return o, marks
}

// TestOpenSSHLoginShells: what the remote command receives is the value
// and nothing else runs, under every login shell, for every payload.
func TestOpenSSHLoginShells(t *testing.T) {
	o, marks := startShellsSSHD(t)
	cfg := o.Config()
	cfg.KillAfter = time.Second // the TERM-ignoring probe is KILLed 1 s after its timeout
	c, err := rbssh.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	payloads := nonNulPayloads(injectionPayloads(marks))
	if len(payloads) < 150 {
		t.Fatalf("corpus has %d payloads, want at least 150", len(payloads))
	}
	env := engine.Env{"params": map[string]any{"v": ""}}
	tmpl, err := engine.ParseTemplate("printf '%s' {{ params.v }}", env)
	if err != nil {
		t.Fatal(err)
	}
	script := func(v string) string {
		if s, err := tmpl.Render(engine.Env{"params": map[string]any{"v": v}}); err == nil {
			return s
		}
		// Values with line breaks are refused by templates; the quoting
		// itself must still hold for scripts that carry them.
		return "printf '%s' " + engine.ShellQuote(v)
	}
	for _, ls := range loginShells {
		t.Run(filepath.Base(ls.shell), func(t *testing.T) {
			h := engine.Host{Role: "t", Name: ls.user + "@" + o.Addr()}
			// Sanity: this really is the shell we mean.
			if out := run(ctx, c, h, engine.CommandRequest{Script: `getent passwd "$(id -un)" | cut -d: -f7`}); out.err != nil || strings.TrimSpace(out.stdout) != ls.shell {
				t.Fatalf("login shell of %s: %+v", ls.user, out)
			}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 6)
			var mu sync.Mutex
			var bad []string
			for _, v := range payloads {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					out := run(ctx, c, h, engine.CommandRequest{Script: script(v), Timeout: 30 * time.Second})
					if out.err != nil || out.res.Exit != 0 || out.stdout != v || out.stderr != "" {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%q: stdout %q stderr %q exit %d err %v", v, out.stdout, out.stderr, out.res.Exit, out.err))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			for _, b := range bad {
				t.Error(b)
			}
			ents, _ := os.ReadDir(marks)
			for _, e := range ents {
				t.Errorf("a payload ran a command under %s: %s exists", ls.shell, e.Name())
			}
			t.Logf("%d payloads under %s", len(payloads), ls.shell)

			// A multi-line script runs wholly inside the timeout wrapper.
			a := 700000 + rand.IntN(90000)
			mark := filepath.Join(marks, "after-timeout")
			out := run(ctx, c, h, engine.CommandRequest{Script: fmt.Sprintf("sleep %d\ntouch %s", a, mark), Timeout: time.Second})
			if out.err != nil || !out.res.TimedOut {
				t.Errorf("multi-line script past its timeout: %+v", out)
			}
			if !waitGone(fmt.Sprint("sleep ", a)) {
				t.Errorf("sleep %d survived the timeout", a)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Errorf("the line after the timed-out one ran under %s", ls.shell)
			}

			// A probe that ignores TERM is still a timeout, not exit 137.
			out = run(ctx, c, h, engine.CommandRequest{Script: "trap '' TERM; sleep 600123", Timeout: time.Second})
			if out.err != nil || !out.res.TimedOut {
				t.Errorf("TERM-ignoring probe past its timeout: want timed_out, got %+v", out)
			}
		})
	}

	// A login shell that never runs the command is an error, whatever
	// status it ends with: /bin/true says 0, /bin/false says 1.
	for _, u := range []string{"runbook-t-true", "runbook-t-false"} {
		out := run(ctx, c, engine.Host{Role: "t", Name: u + "@" + o.Addr()}, engine.CommandRequest{Script: "echo hi"})
		var we *rbssh.WrapperError
		if !errors.As(out.err, &we) || !errors.Is(out.err, rbssh.ErrWrapperNotStarted) {
			t.Errorf("%s: want WrapperError, got %+v", u, out)
		}
	}
}
