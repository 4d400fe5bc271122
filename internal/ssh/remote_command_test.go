package ssh

import (
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

func TestRemoteCommandRoundTrip(t *testing.T) {
	scripts := []string{
		"true",
		"",
		"df -P / | tail -1",
		`echo 'it'"'"'s' "$HOME" \$x; printf '%s\n' a b`,
		"line1\nline2\n\ttabbed",
		"rm -rf -- '/srv/a b'",
		`"; exec evil #`,
		"kill -TERM $$",
		`echo "${PPID}"`,
	}
	for _, s := range scripts {
		for _, rc := range []RemoteCommand{
			{Script: s},
			{Script: s, KillAfter: 5 * time.Second},
			{Script: s, Sudo: true},
			{Script: s, Sudo: true, SudoStdin: true, KillAfter: 2 * time.Second},
			{Script: s, Sudo: true, Direct: true},
			{Script: s, KillAfter: 1500 * time.Millisecond, Nonce: "runbook-0123abcd"},
			{Script: s, Sudo: true, SudoStdin: true, Nonce: "runbook-ffff"},
		} {
			line := rc.String()
			const after = "what the command itself reads\n"
			got, rest, err := ReadRemoteCommand(line, strings.NewReader(string(rc.Payload())+after))
			if err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			if b, _ := io.ReadAll(rest); string(b) != after {
				t.Errorf("%q: the command's own stdin is %q, want %q", line, b, after)
			}
			if (line == stdinBootstrap) != (!rc.Sudo && !rc.Direct) {
				t.Errorf("%+v: line %q", rc, line)
			}
			want := rc
			if !rc.Direct {
				want.KillAfter = time.Duration(ceilSeconds(rc.KillAfter)) * time.Second
				if rc.KillAfter == 0 {
					want.KillAfter = 5 * time.Second
				}
			}
			if got != want {
				t.Errorf("round trip of %q:\n got %+v\nwant %+v", line, got, want)
			}
		}
	}
}

func TestRemoteCommandShape(t *testing.T) {
	rc := RemoteCommand{Script: "echo $HOME; id", Sudo: true, KillAfter: 5 * time.Second, Nonce: "runbook-abc"}
	line := rc.String()
	// What the login shell parses: the fixed bootstrap around letters,
	// digits, a few inert punctuation marks and backslash-octal escapes.
	enc, ok := strings.CutPrefix(line, `exec /bin/sh -c 'eval "$(printf "`)
	enc, ok2 := strings.CutSuffix(enc, `")"'`)
	if !ok || !ok2 || regexp.MustCompile(`^([A-Za-z0-9 ,._+=:/@-]|\\[0-3][0-7][0-7])*$`).FindString(enc) != enc {
		t.Fatalf("line is not bootstrap + printf format: %s", line)
	}
	if strings.Contains(enc, `\\\\`) || strings.Contains(enc, `'`) || strings.Contains(enc, "!") {
		t.Fatalf("the format holds a sequence some login shell reads inside single quotes: %s", line)
	}
	// And /bin/sh's printf turns it back into exactly the command.
	out, err := exec.Command("/bin/sh", "-c", `printf "`+enc+`"`).Output()
	if err != nil || string(out) != rc.Inner() {
		t.Fatalf("printf of the format: %v\n got %q\nwant %q", err, out, rc.Inner())
	}
	plain := RemoteCommand{Script: "id; echo {{secret}}", Nonce: "n-1"}
	if plain.String() != "exec /bin/sh -s" || strings.Contains(plain.String(), "secret") {
		t.Errorf("without sudo the login shell gets only the bootstrap: %s", plain.String())
	}
	if p := string(plain.Payload()); p != plain.Inner()+"\n" || !strings.HasPrefix(p, `echo n-1:start >&2; set -- 'id; echo {{secret}}'; exec 3<&0; (eval "set --; $1") </dev/null 3<&- &`) {
		t.Errorf("without sudo the bootstrap's shell reads the wrapper on stdin and runs it itself: %s", p)
	}
	got := rc.Inner()
	if !strings.HasPrefix(got, `echo runbook-abc:start >&2; exec sudo -n -- sh -c 'exec 3<&0; (eval "set --; $1") </dev/null 3<&- &`) ||
		!strings.Contains(got, `kill -TERM 0; sleep 5 </dev/null`) ||
		!strings.HasSuffix(got, `' runbook 'echo $HOME; id'`) {
		t.Errorf("got %s", got)
	}
}

// A script runs in a subshell of the wrapper (no exec), unless it names $$
// or $PPID, which a subshell would answer with the wrapper's and sshd's.
func TestRemoteCommandOwnShellOnlyForPIDs(t *testing.T) {
	for script, own := range map[string]bool{
		"uptime": false, "df -P / | awk '{print $5}'": false, "echo $1 $# $?": false,
		"kill $$": true, "echo ${$}": true, "ps -p $PPID": true, "echo ${PPID}": true, "tmp=/tmp/x.$$": true,
	} {
		inner := RemoteCommand{Script: script, Nonce: "n-3"}.Inner()
		if got := strings.Contains(inner, runOwnShell+" </dev/null"); got != own {
			t.Errorf("%q: own shell %v, want %v: %s", script, got, own, inner)
		}
		if got := strings.Contains(inner, runSubshell+" </dev/null"); got == own {
			t.Errorf("%q: subshell %v, want %v", script, got, !own)
		}
	}
}

func TestSplitHostSpec(t *testing.T) {
	for _, c := range []struct {
		in         string
		user, host string
		port       int
		bad        bool
	}{
		{in: "web-1", host: "web-1"},
		{in: "root@10.0.0.5", user: "root", host: "10.0.0.5"},
		{in: "root@10.0.0.5:2222", user: "root", host: "10.0.0.5", port: 2222},
		{in: "[::1]:22", host: "::1", port: 22},
		{in: "ops@[fe80::1]:2200", user: "ops", host: "fe80::1", port: 2200},
		{in: "::1", host: "::1"},
		{in: "-oProxyCommand=x", bad: true},
		{in: "host:99999", bad: true},
		{in: "a@", bad: true},
	} {
		u, h, p, err := splitHostSpec(c.in)
		if (err != nil) != c.bad || (err == nil && (u != c.user || h != c.host || p != c.port)) {
			t.Errorf("%q: got %q %q %d %v", c.in, u, h, p, err)
		}
	}
}

// A sudo command whose printf format would be too long goes as base64,
// which still fits, and both forms parse back to the same command. The
// stdin form has no such limit, but for a script that runs as `sh -c`.
func TestRemoteCommandLongFallsBackToBase64(t *testing.T) {
	big := "printf %s " + engine.ShellQuote(strings.Repeat(`'"$;|&`+"`", 2500))
	rc := RemoteCommand{Script: big, Sudo: true, Nonce: "n-2"}
	line := rc.String()
	if !strings.HasPrefix(line, base64Prefix) || len(line) > MaxCommandLine || rc.TooLong() != nil {
		t.Fatalf("long command: %d bytes, prefix %.40q", len(line), line)
	}
	got, err := ParseRemoteCommand(line)
	if err != nil || got.Script != rc.Script {
		t.Fatalf("round trip: %v", err)
	}
	short := RemoteCommand{Script: "id", Sudo: true, Nonce: "n-2"}
	if !strings.HasPrefix(short.String(), bootstrapPrefix) {
		t.Fatalf("short command not in the printf form: %s", short.String())
	}
	huge := strings.Repeat("a", 200<<10)
	for _, c := range []struct {
		rc      RemoteCommand
		tooLong bool
	}{
		{RemoteCommand{Script: "printf %s " + huge}, false},
		{RemoteCommand{Script: "echo $$; printf %s " + huge}, true},
		{RemoteCommand{Script: "printf %s " + huge, Sudo: true}, true},
	} {
		if err := c.rc.TooLong(); (err != nil) != c.tooLong || (err != nil && !errors.Is(err, ErrCommandTooLong)) {
			t.Errorf("%.30q sudo %v: TooLong %v, want %v", c.rc.Script, c.rc.Sudo, err, c.tooLong)
		}
	}
}

// The sudo form runs the same wrapper under `sudo -- sh -c WRAPPER runbook
// SCRIPT`; with env(1) standing in for sudo, /bin/sh runs it here: the
// script's output, status and empty positional parameters come through.
func TestRemoteCommandSudoFormRuns(t *testing.T) {
	for _, script := range []string{`echo "out:$#"; exit 3`, `echo "pid:$$" >/dev/null; echo "out:$#"; exit 3`} {
		inner := RemoteCommand{Script: script, Sudo: true, Nonce: "n-4"}.Inner()
		inner = strings.Replace(inner, "exec sudo -n -- ", "exec env ", 1)
		cmd := exec.Command("/bin/sh", "-c", inner)
		stdin, err := cmd.StdinPipe() // held open, as the Client does
		if err != nil {
			t.Fatal(err)
		}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		stdin.Close()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 || out.String() != "out:0\n" || errb.String() != "n-4:start\n" {
			t.Errorf("%q: err %v, stdout %q, stderr %q", script, err, out.String(), errb.String())
		}
	}
}
