package ssh

import (
	"github.com/runbook-dev/runbook/internal/engine"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
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
	}
	for _, s := range scripts {
		for _, rc := range []RemoteCommand{
			{Script: s},
			{Script: s, Timeout: 30 * time.Second, KillAfter: 5 * time.Second},
			{Script: s, Sudo: true},
			{Script: s, Sudo: true, SudoStdin: true, Timeout: 1500 * time.Millisecond, KillAfter: 2 * time.Second},
			{Script: s, Sudo: true, Direct: true},
			{Script: s, Timeout: time.Second, Nonce: "runbook-0123abcd"},
			{Script: s, Sudo: true, SudoStdin: true, Nonce: "runbook-ffff"},
		} {
			line := rc.String()
			got, err := ParseRemoteCommand(line)
			if err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			want := rc
			want.Timeout = time.Duration(ceilSeconds(rc.Timeout)) * time.Second
			if rc.KillAfter == 0 && !rc.Direct {
				want.KillAfter = 5 * time.Second
			}
			if got != want {
				t.Errorf("round trip of %q:\n got %+v\nwant %+v", line, got, want)
			}
		}
	}
}

func TestRemoteCommandShape(t *testing.T) {
	rc := RemoteCommand{Script: "echo $HOME; id", Sudo: true, Timeout: 20 * time.Second, KillAfter: 5 * time.Second, Nonce: "runbook-abc"}
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
	if plain := (RemoteCommand{Script: "id", Timeout: time.Second, Nonce: "n-1"}).Inner(); !strings.HasPrefix(plain, `echo n-1:start >&2; set -- sh -c id; exec 3<&0; if command -v timeout`) {
		t.Errorf("without sudo the bootstrap's shell runs the wrapper itself: %s", plain)
	}
	got := rc.Inner()
	if !strings.HasPrefix(got, `echo runbook-abc:start >&2; exec sudo -n -- sh -c 'exec 3<&0; if command -v timeout >/dev/null 2>&1; then timeout -k 5 20 "$@" </dev/null 3<&- & else`) ||
		!strings.HasSuffix(got, `' runbook sh -c 'echo $HOME; id'`) {
		t.Errorf("got %s", got)
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

// A command whose printf format would be too long goes as base64, which
// still fits, and both forms parse back to the same command.
func TestRemoteCommandLongFallsBackToBase64(t *testing.T) {
	rc := RemoteCommand{Script: "printf %s " + engine.ShellQuote(strings.Repeat(`'"$;|&`+"`", 2500)), Timeout: time.Minute, Nonce: "n-2"}
	line := rc.String()
	if !strings.HasPrefix(line, base64Prefix) || len(line) > MaxCommandLine {
		t.Fatalf("long command: %d bytes, prefix %.40q", len(line), line)
	}
	got, err := ParseRemoteCommand(line)
	if err != nil || got.Script != rc.Script {
		t.Fatalf("round trip: %v", err)
	}
	short := RemoteCommand{Script: "id", Timeout: time.Minute, Nonce: "n-2"}
	if !strings.HasPrefix(short.String(), bootstrapPrefix) {
		t.Fatalf("short command not in the printf form: %s", short.String())
	}
}
