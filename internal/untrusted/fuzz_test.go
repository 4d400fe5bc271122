package untrusted

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// unsafeRune reports what must never reach a terminal from Sanitize: ESC
// and every other C0 control but newline and tab, DEL, C1 controls, and
// hidden/bidi runes.
func unsafeOut(s string, oneLine bool) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			if oneLine {
				return "newline or tab in one-line output"
			}
		case r < 0x20 || r == 0x7f:
			return "C0 control or DEL"
		case IsHidden(r):
			return "C1, bidi or hidden rune"
		}
	}
	return ""
}

// FuzzEscapeJSON (with FuzzSanitize): whatever a host prints, Sanitize and SanitizeLine return
// valid UTF-8 without ESC, C1 or bidi characters; the Writer gives the same
// text however the input is split into writes; EscapeJSON keeps JSON
// decoding to the same value and leaves no C1 or bidi rune raw.
func FuzzEscapeJSON(f *testing.F) {
	for _, s := range []string{
		"plain\n", "x\x1b]52;c;cm0gLXJmIH4K\x07y", "\x1b]8;;http://e/\x1b\\a\x1b]8;;\x1b\\", "\x1b[2J\x1b[H",
		"FAILED\rPASSED", "a\b\bb", "\x1b[?1049h", "\x1bP$q m\x1b\\", "\x05", "\u009b2J", "a\x9bb", "ok\xff\xfe",
		"db\u202e1.example", "\u2066x\u2069", "\ufeff\U000E0041", "a\u2028b", "\x1b[1;31mred\x1b[0m", "\r\n", "\x1b",
		strings.Repeat("\x1b[", 300),
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, split uint8) {
		out := Sanitize(s)
		if why := unsafeOut(out, false); why != "" {
			t.Fatalf("Sanitize(%q) = %q: %s", s, out, why)
		}
		line := SanitizeLine(s)
		if why := unsafeOut(line, true); why != "" {
			t.Fatalf("SanitizeLine(%q) = %q: %s", s, line, why)
		}
		if Sanitize(out) != out {
			t.Fatalf("Sanitize is not idempotent on %q", out)
		}
		// The Writer, fed in chunks of 1..16 bytes, says the same.
		var b bytes.Buffer
		w := NewWriter(&b)
		n := int(split%16) + 1
		for i := 0; i < len(s); i += n {
			if _, err := w.Write([]byte(s[i:min(i+n, len(s))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if why := unsafeOut(b.String(), false); why != "" {
			t.Fatalf("Writer(%q) = %q: %s", s, b.String(), why)
		}
		// JSON: no raw C1 or hidden rune, and the value survives.
		enc, err := MarshalJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range string(enc) {
			if r >= 0x80 && IsHidden(r) {
				t.Fatalf("EscapeJSON left %U raw in %s", r, enc)
			}
		}
		var back, want string
		raw, _ := json.Marshal(s)
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("escaped JSON %s does not decode: %v", enc, err)
		}
		_ = json.Unmarshal(raw, &want)
		if back != want {
			t.Fatalf("escaped JSON decodes to %q, want %q", back, want)
		}
	})
}
