package untrusted

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPendingSeq bounds the length of one escape sequence: longer ones are cut
// there and the rest is treated as text. It bounds what the Writer holds back
// waiting for a terminator, so a hostile stream cannot make it buffer forever.
const maxPendingSeq = 256

// Sanitize returns s with every control, format and invalid byte made visible
// and every escape sequence neutralised. Newlines and tabs are kept.
func Sanitize(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	sanitize(&b, s, true, false)
	return b.String()
}

// SanitizeLine is Sanitize for text that must stay on one line (a step
// title, a host name, a status message): '\n' and '\t' are escaped too.
func SanitizeLine(s string) string {
	if isPlainLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	sanitize(&b, s, true, true)
	return b.String()
}

// isPlain reports whether s is printable ASCII plus '\n' and '\t', the
// common case, which needs no copy.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || (c < 0x20 && c != '\n' && c != '\t') {
			return false
		}
	}
	return true
}

func isPlainLine(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || c < 0x20 {
			return false
		}
	}
	return true
}

// sanitize writes the safe form of src to b. When final is false it stops
// before a tail that may be completed by the next write (a partial UTF-8
// rune, a '\r' that may be followed by '\n', an unterminated escape
// sequence) and returns how many bytes it consumed.
func sanitize(b *strings.Builder, src string, final, oneLine bool) int {
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == 0x1b:
			n, complete := seqLen(src[i:])
			if !complete && !final {
				return i
			}
			seq := src[i : i+n]
			if complete && isSGR(seq) {
				i += n
				continue
			}
			// Show the sequence as inert text: ESC escaped, the rest
			// sanitised (a BEL terminator or a nested ESC is escaped too).
			b.WriteString(`\x1b`)
			sanitize(b, seq[1:], true, true)
			i += n
		case c == '\r':
			if i+1 == len(src) && !final {
				return i
			}
			if i+1 < len(src) && src[i+1] == '\n' {
				if oneLine {
					b.WriteString(`\r\n`)
				} else {
					b.WriteByte('\n')
				}
				i += 2
				continue
			}
			b.WriteString(`\r`)
			i++
		case c == '\n' || c == '\t':
			if oneLine {
				if c == '\n' {
					b.WriteString(`\n`)
				} else {
					b.WriteString(`\t`)
				}
			} else {
				b.WriteByte(c)
			}
			i++
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, `\x%02x`, c)
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size <= 1 {
				if !final && !utf8.FullRuneInString(src[i:]) {
					return i
				}
				fmt.Fprintf(b, `\x%02x`, c)
				i++
				continue
			}
			if IsHidden(r) {
				fmt.Fprintf(b, "<U+%04X>", r)
			} else {
				b.WriteString(src[i : i+size])
			}
			i += size
		}
	}
	return i
}

// IsHidden reports runes that are invisible or change how other text is
// displayed: C1 controls, format characters (bidi embeddings, overrides and
// isolates, marks, BOM, tag characters) and line/paragraph separators.
// ZWNJ and ZWJ are allowed: they only join glyphs (Persian, Indic scripts,
// emoji) and cannot reorder or hide text.
func IsHidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x200c || r == 0x200d:
		return false
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// seqLen returns the length of the escape sequence at the start of s (which
// begins with ESC) and whether it is complete. An incomplete sequence spans
// the rest of s.
func seqLen(s string) (int, bool) {
	if len(s) < 2 {
		return len(s), false
	}
	switch s[1] {
	case '[': // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E
		for j := 2; j < len(s); j++ {
			if j >= maxPendingSeq {
				return j, true
			}
			c := s[j]
			switch {
			case c >= 0x20 && c <= 0x3f:
				continue
			case c >= 0x40 && c <= 0x7e:
				return j + 1, true
			default:
				// Anything else ends the sequence malformed; stop before it
				// so it is sanitised on its own.
				return j, true
			}
		}
		return len(s), false
	case ']', 'P', '_', '^', 'X': // OSC, DCS, APC, PM, SOS: up to BEL or ST (ESC \)
		for j := 2; j < len(s); j++ {
			if j >= maxPendingSeq {
				return j, true
			}
			switch s[j] {
			case '\n':
				// A newline ends an unterminated string sequence for us, so
				// a stray ESC ] cannot swallow the rest of the output.
				return j, true
			case 0x07:
				return j + 1, true
			case 0x1b:
				if j+1 < len(s) {
					if s[j+1] == '\\' {
						return j + 2, true
					}
					return j, true
				}
				return len(s), false
			}
		}
		return len(s), false
	default: // two-byte sequences (ESC 7, ESC c, ESC ( B ...): just the ESC and one byte
		if s[1] >= 0x20 && s[1] < 0x7f {
			return 2, true
		}
		return 1, true
	}
}

// isSGR reports whether a complete CSI sequence only sets graphic rendition.
func isSGR(seq string) bool {
	if len(seq) < 3 || seq[1] != '[' || seq[len(seq)-1] != 'm' {
		return false
	}
	for j := 2; j < len(seq)-1; j++ {
		c := seq[j]
		if (c < '0' || c > '9') && c != ';' && c != ':' {
			return false
		}
	}
	return true
}

// Writer sanitises everything written to it before passing it on. It holds
// back at most a few bytes (a split rune, a '\r' that may begin "\r\n", an
// unterminated escape sequence up to a bound) until the next Write or Flush,
// so chunk boundaries do not change the result.
type Writer struct {
	w       io.Writer
	pending []byte
	buf     strings.Builder
}

// NewWriter returns a Writer that sanitises into w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sanitises p and writes the safe text to the underlying writer. It
// reports len(p) on success: every input byte was consumed or is held back.
func (w *Writer) Write(p []byte) (int, error) {
	var src string
	if len(w.pending) > 0 {
		w.pending = append(w.pending, p...)
		src = string(w.pending)
	} else {
		src = string(p)
	}
	w.buf.Reset()
	n := sanitize(&w.buf, src, false, false)
	w.pending = append(w.pending[:0], src[n:]...)
	if w.buf.Len() > 0 {
		if _, err := io.WriteString(w.w, w.buf.String()); err != nil {
			return 0, fmt.Errorf("write sanitised output: %w", err)
		}
	}
	return len(p), nil
}

// Flush writes whatever is held back, sanitised as final text.
func (w *Writer) Flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	w.buf.Reset()
	sanitize(&w.buf, string(w.pending), true, false)
	w.pending = w.pending[:0]
	if _, err := io.WriteString(w.w, w.buf.String()); err != nil {
		return fmt.Errorf("flush sanitised output: %w", err)
	}
	return nil
}

// Close flushes; it does not close the underlying writer.
func (w *Writer) Close() error { return w.Flush() }
