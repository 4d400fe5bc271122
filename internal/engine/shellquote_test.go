package engine_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/internal/engine"
)

// quotingValues returns hand-picked nasty values and many generated ones.
func quotingValues() []string {
	vals := []string{
		"", " ", "  two  spaces  ", "a b", "'", "''", `"`, `\`, `\'`, `'\''`, "$HOME", "${HOME}", "$(id)", "`id`",
		"a;b", "a&&b", "a||b", "a|b", "a>b", "<a", "*", "?", "[a]", "~", "~root", "-n", "-e", "--", "-", "!", "!!", "#", "a #b",
		"%s", "%%", "\t", "a\tb", "é", "日本語", "🙂", "\u202e", "\x1b[31m", "\x7f", "\x01", "{a,b}", "a=b", "x=$(touch /tmp/pwned)",
		"'; rm -rf / #", `"; echo hi; "`, "\\n", "$'\\x41'", "IFS", "$IFS", "$@", "$*", "$0", "$1",
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab -_'\"\\$`(){}[];&|<>*?~!#%=^,.:/@\t+é日🙂\u202e\x01\x1b\x7f")
	for range 1500 {
		n := r.IntN(24)
		var b strings.Builder
		for range n {
			switch r.IntN(10) {
			case 0:
				b.WriteByte(byte(1 + r.IntN(255))) // any byte but NUL, valid UTF-8 or not
			case 1:
				b.WriteRune(rune(0x20 + r.IntN(0x2ff0)))
			default:
				b.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
		}
		vals = append(vals, b.String())
	}
	return vals
}

// TestShellQuotingProperty renders `printf '[%s]' {{ params.v }}` for many
// values and runs it with the real /bin/sh: sh must see exactly one argument
// equal to the value, whatever it holds. Values with NUL or a line break
// are refused before any shell sees them.
func TestShellQuotingProperty(t *testing.T) {
	sh, err := exec.LookPath("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	env := engine.Env{"params": map[string]any{"v": ""}}
	tmpl, err := engine.ParseTemplate("printf '[%s]' {{ params.v }}", env)
	if err != nil {
		t.Fatal(err)
	}
	vals := quotingValues()
	// One sh per batch keeps this fast; a NUL separates the outputs.
	const batch = 250
	checked := 0
	for start := 0; start < len(vals); start += batch {
		chunk := vals[start:min(start+batch, len(vals))]
		var script strings.Builder
		var sent []string
		for _, v := range chunk {
			cmd, err := tmpl.Render(engine.Env{"params": map[string]any{"v": v}})
			if strings.ContainsAny(v, "\n\r") {
				if !errors.Is(err, engine.ErrUnsafeValue) {
					t.Errorf("value %q with a line break: got %v, want ErrUnsafeValue", v, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("render %q: %v", v, err)
			}
			sent = append(sent, v)
			script.WriteString(cmd + "; printf '\\000'\n")
		}
		out, err := exec.Command(sh, "-c", script.String()).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		parts := bytes.Split(out, []byte{0})
		if len(parts) != len(sent)+1 {
			t.Fatalf("sh printed %d outputs for %d values", len(parts)-1, len(sent))
		}
		checked += len(sent)
		for i, v := range sent {
			if got, want := string(parts[i]), "["+v+"]"; got != want {
				t.Errorf("value %q (valid UTF-8: %v): sh saw %q, want %q", v, utf8.ValidString(v), got, want)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d values reached sh", checked)
	}
	for _, bad := range []string{"a\nb", "\n", "a\rb", "a\x00b", "x\n$(id)"} {
		_, err := tmpl.Render(engine.Env{"params": map[string]any{"v": bad}})
		if !errors.Is(err, engine.ErrUnsafeValue) {
			t.Errorf("value %q: got %v, want ErrUnsafeValue", bad, err)
		}
	}
}
