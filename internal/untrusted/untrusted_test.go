package untrusted

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "disk 93% used\n\tok", "disk 93% used\n\tok"},
		{"cjk korean russian", "磁盘已满 디스크 가득 диск заполнен", "磁盘已满 디스크 가득 диск заполнен"},
		{"osc52 clipboard bel", "a\x1b]52;c;cm0gLXJmIC8K\x07b", `a\x1b]52;c;cm0gLXJmIC8K\x07b`},
		{"osc52 clipboard st", "\x1b]52;c;eA==\x1b\\", `\x1b]52;c;eA==\x1b\`},
		{"osc title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"clear screen", "\x1b[2Jhello", `\x1b[2Jhello`},
		{"cursor up overwrite", "FAILED\n\x1b[1APASSED", "FAILED\n" + `\x1b[1APASSED`},
		{"carriage return forgery", "FAILED\rPASSED", `FAILED\rPASSED`},
		{"crlf normalised", "line1\r\nline2\r\n", "line1\nline2\n"},
		{"sgr dropped", "\x1b[1;31mred\x1b[0m \x1b[38:5:2mgreen\x1b[m", "red green"},
		{"sgr conceal cannot hide", "x\x1b[8msecret", "xsecret"},
		{"rtl override", "exit 0 \u202eSSAP", `exit 0 <U+202E>SSAP`},
		{"bidi isolates and marks", "\u2066a\u2069\u200e\u200f\u061c", `<U+2066>a<U+2069><U+200E><U+200F><U+061C>`},
		{"c1 csi rune", "\u009b2J", `<U+009B>2J`},
		{"c1 nel", "a\u0085b", `a<U+0085>b`},
		{"raw 8-bit csi byte", "a\x9b2J", `a\x9b2J`},
		{"invalid utf8", "ok\xff\xfe", `ok\xff\xfe`},
		{"truncated rune", "\xe4\xb8", `\xe4\xb8`},
		{"backspace del bell nul", "a\bb\x7fc\x07d\x00", `a\x08b\x7fc\x07d\x00`},
		{"dcs", "\x1bP1$r0m\x1b\\x", `\x1bP1$r0m\x1b\x`},
		{"two byte esc", "\x1bcreset", `\x1bcreset`},
		{"lone esc at end", "x\x1b", `x\x1b`},
		{"unterminated osc stops at newline", "\x1b]0;t\nnext line\n", `\x1b]0;t` + "\nnext line\n"},
		{"bom and tag chars", "\ufeffa\U000E0041", `<U+FEFF>a<U+E0041>`},
		{"line separator", "a\u2028b", `a<U+2028>b`},
		{"zwj kept", "a\u200db", "a\u200db"},
		{"esc newline", "\x1b\nx", `\x1b` + "\nx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkSafe(t, got, false)
		})
	}
}

func TestSanitizeLine(t *testing.T) {
	got := SanitizeLine("title\nforged\tx\r\n")
	want := `title\nforged\tx\r\n`
	if got != want {
		t.Errorf("SanitizeLine = %q, want %q", got, want)
	}
	if got := SanitizeLine("Проверка диска 检查"); got != "Проверка диска 检查" {
		t.Errorf("SanitizeLine changed clean text: %q", got)
	}
	checkSafe(t, SanitizeLine("a\x1b]52;c;x\x07\n\u202e"), true)
}

// checkSafe asserts what a terminal would care about: no byte that starts a
// control function, no invisible format rune, valid UTF-8.
func checkSafe(t *testing.T, s string, oneLine bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("output is not valid UTF-8: %q", s)
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			if oneLine {
				t.Fatalf("one-line output contains %q: %q", r, s)
			}
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Fatalf("output contains control %U: %q", r, s)
		}
		if unicode.Is(unicode.Cf, r) && r != 0x200c && r != 0x200d {
			t.Fatalf("output contains format rune %U: %q", r, s)
		}
		if r == 0x2028 || r == 0x2029 {
			t.Fatalf("output contains separator %U: %q", r, s)
		}
	}
}

func TestWriterChunkingMatchesSanitize(t *testing.T) {
	inputs := []string{
		"FAILED\rPASSED\r\nok\r",
		"\x1b[31mred\x1b[0m\x1b]52;c;aGVsbG8=\x07tail",
		"磁盘 \u202e디스크\xe4\xb8 диск\u009b",
		"\x1b]0;" + strings.Repeat("x", 600) + "\x07after",
		"\x1b[" + strings.Repeat("1;", 300) + "m",
	}
	for _, in := range inputs {
		want := Sanitize(in)
		for size := 1; size <= 7; size++ {
			var out bytes.Buffer
			w := NewWriter(&out)
			for i := 0; i < len(in); i += size {
				end := min(i+size, len(in))
				n, err := w.Write([]byte(in[i:end]))
				if err != nil || n != end-i {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("chunk size %d on %q:\n got %q\nwant %q", size, in, out.String(), want)
			}
		}
	}
}

func TestWriterHoldsBackBounded(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	if _, err := w.Write([]byte("\x1b]52;c;" + strings.Repeat("A", 10000))); err != nil {
		t.Fatal(err)
	}
	if len(w.pending) > maxPendingSeq {
		t.Fatalf("writer holds %d bytes, bound is %d", len(w.pending), maxPendingSeq)
	}
	if !strings.HasPrefix(out.String(), `\x1b]52;c;AAAA`) {
		t.Fatalf("unterminated OSC not shown as text: %.40q", out.String())
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"FAILED\rPASSED", "\x1b]52;c;x\x07", "\x1b[2J", "\u202e", "\u009b", "\xff", "磁盘\r\n"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, size uint8) {
		got := Sanitize(in)
		checkSafe(t, got, false)
		checkSafe(t, SanitizeLine(in), true)
		if size == 0 {
			size = 1
		}
		var out bytes.Buffer
		w := NewWriter(&out)
		for i := 0; i < len(in); i += int(size) {
			if _, err := w.Write([]byte(in[i:min(i+int(size), len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != got {
			t.Fatalf("writer %q != Sanitize %q", out.String(), got)
		}
	})
}

func BenchmarkSanitizePlain(b *testing.B) {
	line := strings.Repeat("Filesystem      Size  Used Avail Use% Mounted on\n", 20)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		_ = Sanitize(line)
	}
}

func TestEscapeJSONCorpus(t *testing.T) {
	for _, c := range hostileCorpus() {
		b, err := MarshalJSON(map[string]string{"v": c})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range string(b) {
			if r >= 0x80 && IsHidden(r) || r == 0x1b {
				t.Errorf("%q: escaped JSON still holds %U: %s", c, r, b)
			}
		}
		if !utf8.Valid(b) {
			t.Errorf("%q: invalid UTF-8 in %s", c, b)
		}
		var back map[string]string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if want := strings.ToValidUTF8(c, "\uFFFD"); back["v"] != want && utf8.ValidString(c) {
			t.Errorf("round trip %q -> %q", c, back["v"])
		}
	}
	var buf bytes.Buffer
	enc := NewJSONEncoder(&buf)
	if err := enc.Encode(map[string]string{"x": "a\u009b\u202e\U000E0041"}); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), `{"x":"a\u009b\u202e\udb40\udc41"}`+"\n"; got != want {
		t.Errorf("encoder: %s, want %s", got, want)
	}
}

func hostileCorpus() []string {
	return []string{"\u009b2J", "\u009d0;x\u009c", "a\x9bb", "\u202eabc", "\u2066x\u2069", "\u200b", "\ufeff", "\U000E0041", "\x1b]52;c;eA==\x07", "ok\xff"}
}
