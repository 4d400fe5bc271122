// Package textblock lays styled text out in fixed rectangles: every line cut
// or padded to an exact display width, a block cut or padded to an exact
// height. Widths are terminal cells, so double-width CJK runes count twice
// and are never split in half.
package textblock

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Line cuts s (one line, may hold ANSI styles) to at most w cells, ending in
// "…" when cut, and pads it with spaces to exactly w cells.
func Line(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// Block fits s into w×h cells: each line through Line, then cut or padded
// with blank lines to h lines. h < 0 keeps every line.
func Block(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if h >= 0 {
		if len(lines) > h {
			lines = lines[:h]
		}
		for len(lines) < h {
			lines = append(lines, "")
		}
	}
	for i, l := range lines {
		lines[i] = Line(l, w)
	}
	return strings.Join(lines, "\n")
}

// Wrap breaks plain or styled text to lines of at most w cells, at spaces
// and hyphens where it can and inside words (and between CJK runes) where it
// must.
func Wrap(s string, w int) string {
	if w <= 0 {
		return s
	}
	return ansi.Wrap(s, w, " -")
}

// WrapLines is Wrap returning lines.
func WrapLines(s string, w int) []string {
	if s == "" {
		return nil
	}
	return strings.Split(Wrap(s, w), "\n")
}

// Height is the number of lines in s.
func Height(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

// ExpandTabs replaces tabs with spaces to the next multiple of 8 cells, so
// widths are known before drawing (a terminal would expand them itself,
// differently from our width arithmetic).
func ExpandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch r {
		case '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case '\n':
			b.WriteRune(r)
			col = 0
		default:
			b.WriteRune(r)
			col += ansi.StringWidth(string(r))
		}
	}
	return b.String()
}
