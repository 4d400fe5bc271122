package untrusted

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// EscapeJSON rewrites encoded JSON so that it is safe to `cat` or `less -R`:
// every C1 control (U+0080–U+009F, including the 8-bit CSI U+009B and OSC
// U+009D) and every hidden or bidi rune (IsHidden) becomes a \uXXXX escape.
// encoding/json already escapes C0 controls, U+2028/U+2029 and replaces
// invalid UTF-8 with U+FFFD, but it leaves C1 and bidi runes raw.
//
// It works on bytes: outside strings JSON is ASCII, so any such rune is
// inside a string, where the \u form decodes to the same value.
func EscapeJSON(b []byte) []byte {
	if isASCII(b) {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + 32)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			// Not produced by encoding/json; escape the replacement rune
			// rather than pass a raw 0x9B on.
			out.WriteString(`\ufffd`)
		case IsHidden(r) && r > 0xffff:
			hi, lo := surrogates(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, hi, lo)
		case IsHidden(r):
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.Write(b[i : i+size])
		}
		i += size
	}
	return out.Bytes()
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MarshalJSON is json.Marshal followed by EscapeJSON.
func MarshalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return EscapeJSON(b), nil
}

// MarshalJSONIndent is json.MarshalIndent followed by EscapeJSON.
func MarshalJSONIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := json.MarshalIndent(v, prefix, indent)
	if err != nil {
		return nil, err
	}
	return EscapeJSON(b), nil
}

// JSONEncoder is a json.Encoder whose output passes EscapeJSON: use it for
// every JSON or JSON-lines stream written for people to read (`--output
// json`, `--output jsonl`, `lint --format json`, `sessions --format json`).
type JSONEncoder struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewJSONEncoder returns an encoder writing escaped JSON values to w.
func NewJSONEncoder(w io.Writer) *JSONEncoder {
	e := &JSONEncoder{w: w}
	e.enc = json.NewEncoder(&e.buf)
	return e
}

// SetIndent is json.Encoder.SetIndent.
func (e *JSONEncoder) SetIndent(prefix, indent string) { e.enc.SetIndent(prefix, indent) }

// SetEscapeHTML is json.Encoder.SetEscapeHTML.
func (e *JSONEncoder) SetEscapeHTML(on bool) { e.enc.SetEscapeHTML(on) }

// Encode writes v as one escaped JSON value followed by a newline, in one
// write.
func (e *JSONEncoder) Encode(v any) error {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	_, err := e.w.Write(EscapeJSON(e.buf.Bytes()))
	return err
}
