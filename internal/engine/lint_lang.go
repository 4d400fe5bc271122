package engine

import (
	"bytes"
	"strings"
)

// offsetPos maps a byte offset inside a string value to its file position,
// for values written on one line (plain or quoted without escapes) and for
// block scalars (`cmd: |`). Anything else keeps the value's position.
func (l *linter) offsetPos(p Pos, src string, off int) Pos {
	if p.Line < 1 || p.Col < 1 || off < 0 || off > len(src) {
		return p
	}
	lines := bytes.Split(l.rb.Raw, []byte("\n"))
	if p.Line > len(lines) || p.Col > len(lines[p.Line-1])+1 {
		return p
	}
	at := lines[p.Line-1][p.Col-1:]
	if len(at) > 0 && (at[0] == '|' || at[0] == '>') {
		// Block scalar: content starts on the next line at its indentation.
		k := strings.Count(src[:off], "\n")
		ln := p.Line + 1 + k
		if ln > len(lines) {
			return p
		}
		body := lines[ln-1]
		indent := len(body) - len(bytes.TrimLeft(body, " "))
		lineStart := strings.LastIndexByte(src[:off], '\n') + 1
		col := indent + 1 + off - lineStart
		if at[0] == '|' && bytes.HasPrefix(body[indent:], []byte(strings.SplitN(src[lineStart:], "\n", 2)[0])) {
			return Pos{File: p.File, Line: ln, Col: col}
		}
		return p
	}
	if strings.ContainsAny(src, "\n\\") {
		return p
	}
	q := 0
	if len(at) > 0 && (at[0] == '"' || at[0] == '\'') {
		q = 1
		if at[0] == '\'' && strings.Contains(src, "'") {
			return p // '' escapes shift columns
		}
	}
	if !bytes.HasPrefix(at[q:], []byte(src)) {
		return p
	}
	p.Col += q + off
	return p
}
