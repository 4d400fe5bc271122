package ssh_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// FuzzLoginShellQuoting: for any value, the command line and stdin the
// Client sends for `printf '%s' {{ params.v }}`, run the way sshd runs it
// (`SHELL -c LINE`) under every installed login shell, prints exactly the
// value, and
// the wrapper reports that it started and nothing else. This is the
// templates + quoting property "what sh -c receives equals the value",
// extended to the login shells in between.
func FuzzLoginShellQuoting(f *testing.F) {
	var shells []string
	for _, s := range loginShells {
		if _, err := os.Stat(s.shell); err == nil {
			shells = append(shells, s.shell)
		}
	}
	if len(shells) == 0 {
		f.Skip("no shells")
	}
	tmpl, err := engine.ParseTemplate("printf '%s' {{ params.v }}", engine.Env{"params": map[string]any{"v": ""}})
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range injectionPayloads("/nonexistent/dir")[:60] {
		f.Add(v)
	}
	home := f.TempDir()
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsRune(v, 0) || len(v) > 4096 {
			t.Skip("argv cannot carry NUL; long values are for the length tests")
		}
		script, err := tmpl.Render(engine.Env{"params": map[string]any{"v": v}})
		if err != nil {
			if !strings.ContainsAny(v, "\n\r") {
				t.Fatalf("render %q: %v", v, err)
			}
			script = "printf '%s' " + engine.ShellQuote(v)
		}
		const nonce = "runbook-fuzz"
		rc := rbssh.RemoteCommand{Script: script, Nonce: nonce}
		line, payload := rc.String(), rc.Payload()
		var wg sync.WaitGroup
		for _, sh := range shells {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(sh, "-c", line)
				cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"}
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				// The wrapper reads EOF on stdin as "runbook went away": keep
				// it open until the shell exits, as the Client does.
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Error(err)
					return
				}
				defer stdin.Close()
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				if _, err := stdin.Write(payload); err != nil {
					t.Errorf("%s: write the command: %v", sh, err)
				}
				if err := cmd.Wait(); err != nil {
					t.Errorf("%s -c: %v (stderr %q)", sh, err, errb.String())
					return
				}
				if out.String() != v || errb.String() != nonce+":start\n" {
					t.Errorf("%s: value %q: stdout %q stderr %q", sh, v, out.String(), errb.String())
				}
			}()
		}
		wg.Wait()
	})
}
