package ssh

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// RemoteCommand is what the Client asks a host to run. String renders the
// exact command line sent in the SSH "exec" request; ParseRemoteCommand
// recovers it, so test servers match scenarios against the script the engine
// rendered and not against our wrapper.
type RemoteCommand struct {
	Script string
	// Sudo runs the whole command as root with `sudo -n` (or `sudo -S` when
	// SudoStdin: the password is the first line of stdin, never argv).
	Sudo      bool
	SudoStdin bool
	// Timeout > 0 ends the script after that long (TERM, then KILL after
	// KillAfter) on the host itself, through timeout(1).
	Timeout   time.Duration
	KillAfter time.Duration
	// Direct runs `sh -c SCRIPT` without the wrapper, with stdin and stdout
	// wired to the channel: for sftp-server, whose protocol they carry.
	Direct bool
}

// The wrapper runs the script under timeout(1) (when the host has it; a
// zero duration means no limit) in the background, with a watchdog reading
// stdin: the Client keeps stdin open for the life of the command, so EOF
// means the channel closed (step cancelled, connection lost) and the
// watchdog sends TERM, which timeout(1) forwards to the script's whole
// process group before KILL after -k. This is how cancellation reaches the
// remote processes: sshd refuses "signal" requests for root logins (no
// privilege separation child), and without a pty nothing else tells them.
// A status above 128 is re-raised so "killed by signal" stays a signal.
// "$@" is the inner `sh -c SCRIPT`, passed as separate arguments so the
// script is quoted exactly once.
const wrapperFormat = `exec 3<&0; if command -v timeout >/dev/null 2>&1; then timeout -k %d %d "$@" </dev/null 3<&- & else "$@" </dev/null 3<&- & fi; p=$!; { while read -r _; do :; done; kill -TERM $p; } <&3 >/dev/null 2>&1 & w=$!; wait $p; s=$?; kill $w 2>/dev/null; [ $s -gt 128 ] && kill -$((s-128)) $$ 2>/dev/null; exit $s`

var wrapperRE = regexp.MustCompile(`^exec 3<&0; if command -v timeout >/dev/null 2>&1; then timeout -k (\d+) (\d+) "\$@" </dev/null 3<&- & else "\$@" </dev/null 3<&- & fi; p=\$!; \{ while read -r _; do :; done; kill -TERM \$p; \} <&3 >/dev/null 2>&1 & w=\$!; wait \$p; s=\$\?; kill \$w 2>/dev/null; \[ \$s -gt 128 \] && kill -\$\(\(s-128\)\) \$\$ 2>/dev/null; exit \$s$`)

// wrapperArg0 is $0 of the wrapper shell; it shows in ps on the host.
const wrapperArg0 = "runbook"

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// String renders the command line. Every variable part goes through
// engine.ShellQuote; the login shell of the target user only ever sees
// `sh` and quoted words.
func (c RemoteCommand) String() string {
	var b strings.Builder
	if c.Sudo {
		if c.SudoStdin {
			b.WriteString("sudo -S -p '' -- ")
		} else {
			b.WriteString("sudo -n -- ")
		}
	}
	if c.Direct {
		b.WriteString("sh -c ")
		b.WriteString(engine.ShellQuote(c.Script))
		return b.String()
	}
	ka := c.KillAfter
	if ka <= 0 {
		ka = 5 * time.Second
	}
	b.WriteString("sh -c ")
	b.WriteString(engine.ShellQuote(fmt.Sprintf(wrapperFormat, ceilSeconds(ka), ceilSeconds(c.Timeout))))
	b.WriteString(" " + wrapperArg0 + " sh -c ")
	b.WriteString(engine.ShellQuote(c.Script))
	return b.String()
}

// ParseRemoteCommand recovers a RemoteCommand from the line String produced.
func ParseRemoteCommand(line string) (RemoteCommand, error) {
	var c RemoteCommand
	w, err := SplitWords(line)
	if err != nil {
		return c, err
	}
	if len(w) > 0 && w[0] == "sudo" {
		c.Sudo = true
		i := 1
		for ; i < len(w) && w[i] != "--"; i++ {
			if w[i] == "-S" {
				c.SudoStdin = true
			}
		}
		if i == len(w) {
			return c, errors.New("sudo without --")
		}
		w = w[i+1:]
	}
	if len(w) == 7 && w[0] == "sh" && w[1] == "-c" && w[3] == wrapperArg0 {
		m := wrapperRE.FindStringSubmatch(w[2])
		if m == nil {
			return c, fmt.Errorf("unknown wrapper %q", w[2])
		}
		ka, _ := strconv.Atoi(m[1])
		to, _ := strconv.Atoi(m[2])
		c.KillAfter, c.Timeout = time.Duration(ka)*time.Second, time.Duration(to)*time.Second
		w = w[4:]
	} else {
		c.Direct = true
	}
	if len(w) != 3 || w[0] != "sh" || w[1] != "-c" {
		return c, fmt.Errorf("not a runbook command line: %q", line)
	}
	c.Script = w[2]
	return c, nil
}

// SplitWords splits a POSIX sh command line into words: single quotes,
// double quotes (with \ before $ ` " \ newline) and backslashes. No
// expansions: enough for the lines this package writes, and an error for
// anything it does not understand.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// sftpServerScript starts the host's sftp-server for sudo fetches; the path
// differs between distributions.
const sftpServerScript = `for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server /usr/lib/ssh/sftp-server /usr/lib/sftp-server; do [ -x "$p" ] && exec "$p"; done; echo "runbook: sftp-server not found on this host" >&2; exit 127`

// IsSFTPServerScript reports whether script is the one the Client sends to
// start sftp-server through sudo (test servers answer it with SFTP).
func IsSFTPServerScript(script string) bool { return script == sftpServerScript }

// clockScript reads the host's clock, for `since` on the remote clock.
const clockScript = "date +%s"

// IsClockScript reports whether script is the Client's remote clock probe.
func IsClockScript(script string) bool { return script == clockScript }
