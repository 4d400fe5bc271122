package ssh

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// RemoteCommand is what the Client asks a host to run. String renders the
// exact command line sent in the SSH "exec" request and Payload what the
// Client writes to the command's stdin first; ReadRemoteCommand recovers
// both, so test servers match scenarios against the script the engine
// rendered and not against our wrapper.
//
// sshd hands the line to the target user's login shell (`$SHELL -c LINE`),
// which may be sh, bash, dash, zsh, fish or tcsh, each with its own quoting
// (fish: \' inside '...'; tcsh: ! history and no multi-line quotes). So the
// line the login shell parses holds nothing of the command. In the common
// form it is only
//
//	exec /bin/sh -s
//
// and /bin/sh reads the command from stdin, where the Client writes Inner
// and a newline before anything else (and then holds stdin open: the
// watchdog's EOF, see wrapperFormat). /bin/sh parses that whole line before
// it runs any of it, and the command never shows in the host's process
// list. Every login shell runs `exec WORD WORD` alike, nothing of a runbook
// or a param ever reaches their parsers, and no length limit of exec(2)
// applies. Against the argv form below it saves the host a fork (the
// decoder's command substitution) and the parse of a line four times as long:
// ~0.75 ms of the host's CPU a command (BenchmarkLoginShellForms). It costs one
// network round trip a command: sshd opens a session's window only once it
// started the login shell (its exec reply), so the command travels after
// that instead of inside the request (80 ms on an 80 ms link, nothing next
// to a step's own time and the operator's).
//
// The sudo forms keep the command in argv (sudo -S reads the password from
// stdin, and sftp-server speaks its protocol there): a fixed bootstrap that
// parses the same in all login shells around the command written as a
// printf format: letters, digits and ` ,._+-=:/@` as themselves, every other
// byte as a \NNN octal escape:
//
//	exec /bin/sh -c 'eval "$(printf "echo\040hi\073\040id")"'
//
// Inside single quotes no login shell gives any of these characters a
// meaning (fish knows only \' and \\ there, tcsh only \! and \newline, and
// neither ever occurs), and printf, a /bin/sh builtin, turns the escapes back
// into the bytes.
type RemoteCommand struct {
	Script string
	// Sudo runs the whole command as root with `sudo -n` (or `sudo -S` when
	// SudoStdin: the password is the first line of stdin, never argv).
	Sudo      bool
	SudoStdin bool
	// KillAfter is how long the watchdog waits after TERM before it KILLs
	// the process group (default 5 s). Timeouts are the Client's: it closes
	// stdin when one passes, which ends the command like a cancel.
	KillAfter time.Duration
	// Direct runs `sh -c SCRIPT` without the wrapper, with stdin and stdout
	// wired to the channel: for sftp-server, whose protocol they carry.
	Direct bool
	// Nonce tags the wrapper's reports on stderr, one line each, which the
	// Client strips from the output: "NONCE:start" once /bin/sh runs the
	// decoded command (so a login shell that failed to run it is an error,
	// never exit 0), "NONCE:stdin-eof" when the command's stdin closed
	// while the Client still held it open (a ForceCommand that drops
	// stdin). Not used with Direct.
	Nonce string
}

// Wrapper reports on stderr (see RemoteCommand.Nonce).
const (
	markStart    = "start"
	markStdinEOF = "stdin-eof"
)

// The wrapper runs the script ("$1") in the background, with a watchdog
// reading stdin: the Client keeps stdin open for the life of the command, so
// EOF means the Client wants it ended (its timeout passed, the step was
// cancelled) or is gone (the connection closed). The watchdog then reports
// the EOF on stderr, TERMs the whole process group (kill 0: the wrapper, the
// script and every process it started; sshd made the login shell a session
// leader and the bootstrap exec'd /bin/sh in its place) and KILLs the group
// after KillAfter unless the wrapper ended first. This is how cancellation
// and timeouts reach the remote processes: sshd refuses "signal" requests
// for root logins (no privilege separation child), and without a pty
// nothing else tells them. A status above 128 is re-raised so "killed by
// signal" stays a signal.
//
// The script runs in a subshell of the wrapper, `(eval "set --; $1")`: a
// fork and no exec, so the whole wrapper costs the host three forks of
// /bin/sh (timeout(1) and a second `sh -c` cost it ~2 ms more a step,
// docs/benchmarks.md). A subshell differs from `sh -c` only in $$ and
// $PPID (the wrapper's and sshd's), so a script that names either gets its
// own shell, `sh -c "$1"`, where they mean what they always did. Either way
// the script is quoted exactly once and runs with no positional
// parameters, stdin /dev/null.
const wrapperFormat = `exec 3<&0; %s </dev/null 3<&- & p=$!; { trap '' PIPE; while read -r _; do :; done; echo %s:` + markStdinEOF + ` >&4; exec 4>&-; trap : TERM; kill -TERM 0; sleep %d </dev/null >/dev/null 2>&1 & k=$!; trap "kill $k; exit" TERM; wait $k && kill -KILL 0; } <&3 4>&2 >/dev/null 2>&1 & w=$!; wait $p; s=$?; kill $w 2>/dev/null; [ $s -gt 128 ] && kill -$((s-128)) $$ 2>/dev/null; exit $s`

// How the wrapper starts the script.
const (
	runSubshell = `(eval "set --; $1")`
	runOwnShell = `sh -c "$1"`
)

// wrapperRE recovers the runner, nonce and kill delay from a wrapper: the
// format itself, quoted, with a group where each verb was.
var wrapperRE = func() *regexp.Regexp {
	q := regexp.QuoteMeta(fmt.Sprintf(wrapperFormat, "\x00R", "\x00N", 0))
	q = strings.NewReplacer(
		"\x00R", "("+regexp.QuoteMeta(runSubshell)+"|"+regexp.QuoteMeta(runOwnShell)+")",
		"\x00N", "([A-Za-z0-9-]+)",
		"sleep 0 ", `sleep (\d+) `,
	).Replace(q)
	return regexp.MustCompile("^" + q + "$")
}()

// namesShellPID says whether a script mentions $$ or $PPID (in any
// quoting, even where the shell would not expand it: a false positive only
// costs the host an exec).
var namesShellPID = regexp.MustCompile(`\$(\$|\{\$\}|PPID\b|\{PPID\})`)

// The bootstrap the login shell parses: only words and one single-quoted
// string free of ' ! newlines and \\, which every login shell reads alike.
const (
	bootstrapPrefix = `exec /bin/sh -c 'eval "$(printf "`
	bootstrapSuffix = `")"'`
	// A command whose format would not fit MaxCommandLine (a big param
	// full of punctuation: up to 4 bytes each) goes as base64 instead, a
	// third longer, decoded by base64(1): one process more, but it fits.
	base64Prefix = `exec /bin/sh -c 'eval "$(echo `
	base64Suffix = ` | base64 -d)"'`
)

// literal says which bytes the bootstrap writes as themselves: inert in
// every login shell's single quotes, in /bin/sh's double quotes and in a
// printf format.
var literal = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range " ,._+-=:/@" {
		t[c] = true
	}
	return t
}()

// printfFormat writes s as a printf format that prints exactly s.
func printfFormat(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		if c := s[i]; literal[c] {
			b.WriteByte(c)
		} else {
			b.WriteByte('\\')
			b.WriteByte('0' + c>>6)
			b.WriteByte('0' + c>>3&7)
			b.WriteByte('0' + c&7)
		}
	}
	return b.String()
}

// parsePrintfFormat reverses printfFormat, refusing anything it would not
// have written.
func parsePrintfFormat(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case literal[c]:
			b.WriteByte(c)
		case c == '\\' && i+3 < len(f) && isOctal(f[i+1]) && isOctal(f[i+2]) && isOctal(f[i+3]) && f[i+1] <= '3':
			b.WriteByte((f[i+1]-'0')<<6 | (f[i+2]-'0')<<3 | (f[i+3] - '0'))
			i += 3
		default:
			return "", fmt.Errorf("runbook command line: byte %q at %d is not in the bootstrap's alphabet", c, i)
		}
	}
	return b.String(), nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

var nonceRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// wrapperArg0 is $0 of the wrapper shell; it shows in ps on the host.
const wrapperArg0 = "runbook"

// MaxCommandLine bounds the line sent to the host: Linux refuses a single
// argument over 128 KiB (MAX_ARG_STRLEN), which would come back as
// "Argument list too long", exit 1, as if the probe had answered.
const MaxCommandLine = 128<<10 - 1024

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// stdinBootstrap is the whole command line of the stdin form.
const stdinBootstrap = "exec /bin/sh -s"

// viaStdin says whether the command goes on stdin (see RemoteCommand).
func (c RemoteCommand) viaStdin() bool { return !c.Sudo && !c.Direct }

// String renders the command line: stdinBootstrap, or for the sudo forms
// the bootstrap around Inner as a printf format.
func (c RemoteCommand) String() string {
	if c.viaStdin() {
		return stdinBootstrap
	}
	inner := c.Inner()
	if f := printfFormat(inner); len(bootstrapPrefix)+len(f)+len(bootstrapSuffix) <= MaxCommandLine {
		return bootstrapPrefix + f + bootstrapSuffix
	}
	return base64Prefix + base64.StdEncoding.EncodeToString([]byte(inner)) + base64Suffix
}

// Payload is what the Client writes to the command's stdin before anything
// else: Inner and a newline for the stdin form, nil for the argv forms.
func (c RemoteCommand) Payload() []byte {
	if !c.viaStdin() {
		return nil
	}
	return []byte(c.Inner() + "\n")
}

// TooLong says why the host could not start c, if it could not: a command
// line over MaxCommandLine (the argv forms), or a script that names $$ or
// $PPID, which then runs as `sh -c SCRIPT` and so must fit one argument.
func (c RemoteCommand) TooLong() error {
	if c.viaStdin() {
		if n := len(c.Script); n > MaxCommandLine && namesShellPID.MatchString(c.Script) {
			return fmt.Errorf("%w: the script is %d bytes and names $$ or $PPID, so it runs as `sh -c SCRIPT`, one argument of at most %d bytes", ErrCommandTooLong, n, MaxCommandLine)
		}
		return nil
	}
	if n := len(c.String()); n > MaxCommandLine {
		return fmt.Errorf("%w: %d bytes once wrapped, the limit is %d (a param or captured value is too large to pass on a sudo command line)", ErrCommandTooLong, n, MaxCommandLine)
	}
	return nil
}

// Inner is the command /bin/sh runs: read from stdin, or decoded by the
// argv bootstrap. Every variable part goes through engine.ShellQuote.
func (c RemoteCommand) Inner() string {
	var b strings.Builder
	if c.Nonce != "" && !c.Direct {
		b.WriteString("echo " + c.Nonce + ":" + markStart + " >&2; ")
	}
	ka := c.KillAfter
	if ka <= 0 {
		ka = 5 * time.Second
	}
	nonce := c.Nonce
	if nonce == "" {
		nonce = "runbook"
	}
	runner := runSubshell
	if namesShellPID.MatchString(c.Script) {
		runner = runOwnShell
	}
	wrapper := fmt.Sprintf(wrapperFormat, runner, nonce, ceilSeconds(ka))
	if !c.Sudo && !c.Direct {
		// The bootstrap's /bin/sh runs the wrapper itself: one exec fewer.
		b.WriteString("set -- " + engine.ShellQuote(c.Script) + "; " + wrapper)
		return b.String()
	}
	b.WriteString("exec ")
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
	b.WriteString("sh -c ")
	b.WriteString(engine.ShellQuote(wrapper))
	b.WriteString(" " + wrapperArg0 + " ")
	b.WriteString(engine.ShellQuote(c.Script))
	return b.String()
}

// maxPayload bounds what ReadRemoteCommand reads of stdin for a command.
const maxPayload = 16 << 20

// ReadRemoteCommand recovers a RemoteCommand from the line String produced
// and, for the stdin form, the Payload at the start of stdin. It returns
// what the command itself reads of stdin: the rest.
func ReadRemoteCommand(line string, stdin io.Reader) (RemoteCommand, io.Reader, error) {
	if line != stdinBootstrap {
		c, err := ParseRemoteCommand(line)
		return c, stdin, err
	}
	br := bufio.NewReader(stdin)
	var b strings.Builder
	for b.Len() <= maxPayload {
		part, err := br.ReadString('\n')
		b.WriteString(part)
		if strings.HasSuffix(part, "\n") {
			// A newline inside the script's quotes is not the end yet: the
			// whole command parses only once the newline after it came.
			if c, perr := parseInner(strings.TrimSuffix(b.String(), "\n")); perr == nil && c.viaStdin() {
				return c, br, nil
			}
		}
		if err != nil {
			return RemoteCommand{}, br, fmt.Errorf("runbook command on stdin: %w after %d bytes (%.80q)", err, b.Len(), b.String())
		}
	}
	return RemoteCommand{}, br, fmt.Errorf("runbook command on stdin: no end within %d bytes", maxPayload)
}

// ParseRemoteCommand recovers a RemoteCommand of an argv form from the line
// String produced.
func ParseRemoteCommand(line string) (RemoteCommand, error) {
	var c RemoteCommand
	var inner string
	if enc, ok := strings.CutPrefix(line, bootstrapPrefix); ok {
		if enc, ok = strings.CutSuffix(enc, bootstrapSuffix); !ok {
			return c, fmt.Errorf("not a runbook command line: %.80q", line)
		}
		var err error
		if inner, err = parsePrintfFormat(enc); err != nil {
			return c, err
		}
	} else if enc, ok := strings.CutPrefix(line, base64Prefix); ok {
		if enc, ok = strings.CutSuffix(enc, base64Suffix); !ok {
			return c, fmt.Errorf("not a runbook command line: %.80q", line)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return c, fmt.Errorf("runbook command line: bad base64: %w", err)
		}
		inner = string(raw)
	} else {
		return c, fmt.Errorf("not a runbook command line: %.80q", line)
	}
	return parseInner(inner)
}

// parseInner recovers a RemoteCommand from its Inner.
func parseInner(inner string) (RemoteCommand, error) {
	var c RemoteCommand
	if rest, ok := strings.CutPrefix(inner, "echo "); ok {
		mark, after, ok := strings.Cut(rest, " >&2; ")
		nonce, ok2 := strings.CutSuffix(mark, ":"+markStart)
		if !ok || !ok2 || !nonceRE.MatchString(nonce) {
			return c, fmt.Errorf("runbook command line: bad start marker in %.80q", inner)
		}
		c.Nonce, inner = nonce, after
	}
	if rest, ok := strings.CutPrefix(inner, "set -- "); ok {
		i := strings.LastIndex(rest, "; exec 3<&0; ")
		if i < 0 {
			return c, fmt.Errorf("runbook command line: no wrapper in %.80q", inner)
		}
		w, err := SplitWords(rest[:i])
		if err != nil {
			return c, err
		}
		if len(w) != 1 {
			return c, fmt.Errorf("not a runbook command line: %q", inner)
		}
		if err := c.parseWrapper(rest[i+2:]); err != nil {
			return c, err
		}
		c.Script = w[0]
		return c, nil
	}
	inner, ok := strings.CutPrefix(inner, "exec ")
	if !ok {
		return c, fmt.Errorf("runbook command line: no exec in %.80q", inner)
	}
	w, err := SplitWords(inner)
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
	if len(w) == 5 && w[0] == "sh" && w[1] == "-c" && w[3] == wrapperArg0 {
		if err := c.parseWrapper(w[2]); err != nil {
			return c, err
		}
		c.Script = w[4]
		return c, nil
	}
	c.Direct = true
	if len(w) != 3 || w[0] != "sh" || w[1] != "-c" {
		return c, fmt.Errorf("not a runbook command line: %q", inner)
	}
	c.Script = w[2]
	return c, nil
}

// parseWrapper reads the nonce and the kill delay out of the wrapper.
func (c *RemoteCommand) parseWrapper(w string) error {
	m := wrapperRE.FindStringSubmatch(w)
	if m == nil {
		return fmt.Errorf("unknown wrapper %q", w)
	}
	ka, _ := strconv.Atoi(m[3])
	c.KillAfter = time.Duration(ka) * time.Second
	if c.Nonce != "" && m[2] != c.Nonce {
		return fmt.Errorf("wrapper nonce %q differs from start marker %q", m[2], c.Nonce)
	}
	return nil
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
