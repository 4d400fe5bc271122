package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Capture kinds: what a capture keeps from a probe's stdout.
const (
	CaptureFirst = "first" // group 1 (or the named groups) of the first match: a string
	CaptureAll   = "all"   // every match: a list of strings, or of maps with named groups
	CaptureTable = "table" // a table: a list of rows, each a map from column name to cell
	CaptureJSON  = "json"  // stdout parsed as JSON (numbers keep uint64 precision)
)

// Table describes how to read a table from stdout.
type Table struct {
	// Sep is "auto" (the default), "space" (runs of blanks), "pipe" (|) or
	// "box" (│ ┃ ║ and ASCII-art borders).
	Sep string
	// Columns names the columns; with Header the first row is skipped, without
	// it every row is data. Without Columns the header row names them.
	Columns []string
	Header  bool
	// Start: the table begins at the first line matching this (its header).
	Start string
}

// captureValues applies the step's captures to one host's stdout. Every
// value is text (events and journals carry strings): structured captures
// are their JSON encoding, which CaptureValue turns back into values.
func (s *Session) captureValues(st *Step, stdout string) map[string]string {
	if len(st.Capture) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, c := range st.Capture {
		pat := c.Pattern
		if c.Kind == CaptureFirst || c.Kind == CaptureAll {
			var err error
			if pat, err = s.capturePattern(st, c); err != nil {
				continue // absent: did not match
			}
		}
		for k, v := range applyCapture(c, pat, stdout) {
			out[k] = v
		}
	}
	return out
}

// capturePattern renders a pattern that names params or earlier captures:
// every value is matched literally (regexp.QuoteMeta).
func (s *Session) capturePattern(st *Step, c *Capture) (string, error) {
	if !strings.Contains(c.Pattern, "{{") {
		return c.Pattern, nil
	}
	env := s.env(st)
	t, err := ParseTemplate(c.Pattern, env)
	if err != nil {
		return "", err
	}
	return t.render(env, func(_ *Program, v string) (string, error) { return regexp.QuoteMeta(v), nil })
}

// applyCapture is one capture over stdout with its final pattern.
func applyCapture(c *Capture, pattern, stdout string) map[string]string {
	out := map[string]string{}
	switch c.Kind {
	case CaptureJSON:
		out[c.Name] = ""
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(strings.TrimSpace(stdout))); err == nil {
			out[c.Name] = buf.String()
		}
		return out
	case CaptureTable:
		rows := ParseTable(stdout, c.Table)
		b, _ := json.Marshal(rows)
		out[c.Name] = string(b)
		return out
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return out
	}
	names := re.SubexpNames()
	if c.Kind == CaptureAll {
		var list []any
		for _, m := range re.FindAllStringSubmatch(stdout, -1) {
			named := map[string]any{}
			for i, n := range names {
				if n != "" && i < len(m) {
					named[n] = m[i]
				}
			}
			switch {
			case len(named) > 0:
				list = append(list, named)
			case len(m) > 1:
				list = append(list, m[1])
			}
		}
		if list == nil {
			list = []any{}
		}
		b, _ := json.Marshal(list)
		out[c.Name] = string(b)
		return out
	}
	// First match: a value is present only when its pattern matched (and its
	// group took part); absent is "did not match", nil to expressions, told
	// from an empty match with has(name). No group: the whole match.
	m := re.FindStringSubmatchIndex(stdout)
	if m == nil {
		return out
	}
	group := func(i int) (string, bool) {
		if 2*i+1 >= len(m) || m[2*i] < 0 {
			return "", false
		}
		return stdout[m[2*i]:m[2*i+1]], true
	}
	for i, n := range names {
		if n == "" {
			continue
		}
		if v, ok := group(i); ok {
			out[n] = v
		}
	}
	if re.NumSubexp() == 0 {
		out[c.Name], _ = group(0)
	} else if v, ok := group(1); ok {
		out[c.Name] = v
	}
	return out
}

// CaptureValue turns a capture's recorded text back into the value
// expressions see: a string for first-match captures, lists, rows and JSON
// values for the others (nil when the JSON did not parse).
func CaptureValue(c *Capture, raw string) any {
	if c == nil {
		return raw
	}
	switch c.Kind {
	case CaptureAll, CaptureTable, CaptureJSON:
		if raw == "" {
			if c.Kind == CaptureJSON {
				return nil
			}
			return []any{}
		}
		v, err := decodeJSON(raw)
		if err != nil {
			return nil
		}
		return v
	}
	return raw
}

// captureByName finds the capture that produced name (a capture or, for
// first-match captures, one of its named groups).
func captureByName(st *Step, name string) *Capture {
	for _, c := range st.Capture {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// decodeJSON parses JSON keeping integer precision: integers that fit an
// int stay ints, larger ones (etcd member IDs) become uint64, and only
// fractions become float64.
func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return int(i)
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

// hexOf formats a whole number as lowercase hexadecimal (etcd member IDs:
// `etcdctl member remove` wants hex, `member list -w json` gives decimal).
func hexOf(v any) (string, error) {
	switch x := v.(type) {
	case int:
		if x < 0 {
			return "", fmt.Errorf("hex(%d): negative", x)
		}
		return strconv.FormatUint(uint64(x), 16), nil
	case int64:
		if x < 0 {
			return "", fmt.Errorf("hex(%d): negative", x)
		}
		return strconv.FormatUint(uint64(x), 16), nil
	case uint64:
		return strconv.FormatUint(x, 16), nil
	case float64:
		if x < 0 || x != math.Trunc(x) || x > 1<<53 {
			return "", fmt.Errorf("hex(%v): not a whole number that float64 holds exactly; keep IDs as text or JSON integers", x)
		}
		return strconv.FormatUint(uint64(x), 16), nil
	case string:
		s := strings.TrimSpace(x)
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("hex(%q): not a decimal number", x)
		}
		return strconv.FormatUint(u, 16), nil
	}
	return "", fmt.Errorf("hex: want a whole number, got %T", v)
}

var (
	boxBorderRE  = regexp.MustCompile(`^[\s+\-=─━═┌┐└┘├┤┬┴┼╭╮╯╰╞╡╪╔╗╚╝╠╣╦╩╬┏┓┗┛┣┫┳┻╋:|│┃║]*$`)
	boxSepRE     = regexp.MustCompile(`[│┃║]`)
	spaceSplitRE = regexp.MustCompile(`\s+`)
)

// ParseTable reads a table from text: rows of cells separated by blanks,
// `|` or box-drawing bars. Border lines (+----+, ├──┤, |---|) are skipped; in
// `|` and box tables a row whose first cell is empty continues the row above
// (a wrapped cell), its cells joined with a space. With Sep "space" a row
// with more cells than columns puts the rest into the last column. The
// table ends at the first blank line after its rows.
func ParseTable(text string, spec *Table) []map[string]any {
	if spec == nil {
		spec = &Table{Header: true}
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if spec.Start != "" {
		re, err := regexp.Compile(spec.Start)
		if err != nil {
			return []map[string]any{}
		}
		i := 0
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		lines = lines[i:]
	}
	sep := spec.Sep
	if sep == "" || sep == "auto" {
		sep = "space"
		for _, ln := range lines {
			if boxSepRE.MatchString(ln) {
				sep = "box"
				break
			}
			if strings.Contains(ln, "|") {
				sep = "pipe"
				break
			}
		}
	}
	var rows [][]string
	started := false
	for _, ln := range lines {
		if strings.TrimSpace(ln) == "" {
			if started {
				break
			}
			continue
		}
		if boxBorderRE.MatchString(ln) && strings.ContainsAny(ln, "-=─━═") {
			continue
		}
		cells := splitRow(ln, sep)
		started = true
		if sep != "space" && len(rows) > 1 && len(cells) > 0 && cells[0] == "" {
			prev := rows[len(rows)-1]
			for i, c := range cells {
				if c == "" || i >= len(prev) {
					continue
				}
				if prev[i] == "" {
					prev[i] = c
				} else {
					prev[i] += " " + c
				}
			}
			continue
		}
		rows = append(rows, cells)
	}
	cols := spec.Columns
	if len(rows) > 0 && (len(cols) == 0 || spec.Header) {
		if len(cols) == 0 {
			cols = rows[0]
		}
		rows = rows[1:]
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		if sep == "space" && len(r) > len(cols) && len(cols) > 0 {
			r = append(r[:len(cols)-1:len(cols)-1], strings.Join(r[len(cols)-1:], " "))
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = ""
			if i < len(r) {
				m[c] = r[i]
			}
		}
		out = append(out, m)
	}
	return out
}

func splitRow(ln, sep string) []string {
	var cells []string
	switch sep {
	case "space":
		return spaceSplitRE.Split(strings.TrimSpace(ln), -1)
	case "box":
		cells = boxSepRE.Split(ln, -1)
	default:
		cells = strings.Split(ln, "|")
	}
	// Leading and trailing bars make empty edge cells.
	if len(cells) > 1 && strings.TrimSpace(cells[0]) == "" && isBar(strings.TrimSpace(ln)) {
		cells = cells[1:]
	}
	if n := len(cells); n > 1 && strings.TrimSpace(cells[n-1]) == "" && isBarEnd(strings.TrimSpace(ln)) {
		cells = cells[:n-1]
	}
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

func isBar(s string) bool {
	for _, b := range []string{"|", "│", "┃", "║"} {
		if strings.HasPrefix(s, b) {
			return true
		}
	}
	return false
}

func isBarEnd(s string) bool {
	for _, b := range []string{"|", "│", "┃", "║"} {
		if strings.HasSuffix(s, b) {
			return true
		}
	}
	return false
}

// emptyCapture: nothing captured (no match, no rows, no JSON).
func emptyCapture(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []map[string]any:
		return len(x) == 0
	}
	return false
}
