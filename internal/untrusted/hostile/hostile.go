// Package hostile is the one corpus of hostile text that every surface's
// test feeds in (a probe's output, a runbook's title, a host or file name, an
// error from a server), and the check that what came out is safe to show on
// a terminal or to `cat`/`less -R` from a file.
//
// It is test support: production code never imports it.
package hostile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Case is one hostile string and what it tries to do.
type Case struct {
	Name string
	Text string
}

// Corpus is the shared hostile corpus.
var Corpus = []Case{
	{"osc52-clipboard", "x\x1b]52;c;cm0gLXJmIH4K\x07y"},
	{"osc52-st", "\x1b]52;c;eA==\x1b\\"},
	{"osc8-hyperlink", "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"},
	{"osc0-title", "\x1b]0;pwned\x07"},
	{"osc2-title", "\x1b]2;pwned\x1b\\"},
	{"csi-cursor-up", "FAILED\n\x1b[1A\x1b[2KPASSED"},
	{"csi-erase-screen", "\x1b[2J\x1b[H"},
	{"cr-overwrite", "FAILED\rPASSED"},
	{"backspace-overwrite", "FAILED\b\b\b\b\b\bPASSED"},
	{"alt-screen", "\x1b[?1049h"},
	{"dcs-query", "\x1bP$q m\x1b\\"},
	{"enq", "\x05"},
	{"decrqss-da", "\x1b[c\x1b[>c"},
	{"c1-csi-rune", "\u009b2J"},
	{"c1-osc-rune", "\u009d0;pwned\u009c"},
	{"raw-0x9b", "a\x9b2Jb"},
	{"invalid-utf8", "ok\xff\xfe\xc0"},
	{"bidi-override-host", "db\u202e1.example"},
	{"bidi-isolate-file", "/var/log/\u2066gol.\u2069app.log"},
	{"zero-width", "pass\u200bword"},
	{"bom-tag", "\ufeffa\U000E0041"},
	{"line-separator", "a\u2028b"},
}

// All joins the corpus into one string, newline separated.
func All() string {
	var b strings.Builder
	for _, c := range Corpus {
		b.WriteString(c.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// OneLine is All on one line (for host and file names, titles, signals).
func OneLine() string {
	var parts []string
	for _, c := range Corpus {
		parts = append(parts, strings.ReplaceAll(c.Text, "\n", " "))
	}
	return strings.Join(parts, " ")
}

// YAML returns s as a YAML double-quoted scalar (escapes for every
// control and non-ASCII rune, so a runbook file can carry the corpus). Raw
// bytes that are not UTF-8 cannot be in a YAML file; they become U+FFFD.
func YAML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Unsafe returns why out is not safe to show on a terminal, or "" when it
// is: it must be valid UTF-8 and hold no ESC, no C0 control other than
// newline and tab (no \r, \b, BEL, ENQ), no DEL, no C1 control and no hidden
// or bidi rune.
func Unsafe(out string) string {
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRuneInString(out[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Sprintf("invalid UTF-8 byte 0x%02x at %d in %s", out[i], i, around(out, i))
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("control %q at %d in %s", r, i, around(out, i))
		case untrusted.IsHidden(r):
			return fmt.Sprintf("hidden rune %U at %d in %s", r, i, around(out, i))
		}
		i += size
	}
	return ""
}

func around(s string, i int) string {
	lo, hi := max(0, i-30), min(len(s), i+30)
	return strconv.Quote(s[lo:hi])
}

// TB is the part of testing.TB that Check needs.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Check fails t when out is unsafe, naming the surface.
func Check(t TB, surface, out string) {
	t.Helper()
	if why := Unsafe(out); why != "" {
		t.Errorf("%s is not safe to show: %s", surface, why)
	}
}
