// Package importer turns a vendor procedure written as numbered steps
// ("3. Run ping … If yes, go to 6. If no, go to 4.") into a runbook skeleton:
// one step per vendor number with its ref, the commands found in the text as
// run probes or fixes (state-changing ones marked destructive when they
// delete, kill or discard), the yes/no routes as branches or choices, "wait N
// minutes" as waits and everything else as manual steps. Every guess carries
// a `# TODO` comment. The output is meant to pass `runbook lint` (warnings
// allowed); the tests hold it to that on the shipped seeds.
//
// The package is pure: text in, YAML out. It never runs what it finds.
package importer

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/runbook-dev/runbook/internal/untrusted"
)

// line is one source line with its 1-based number and indentation.
type line struct {
	no     int
	indent int
	text   string // trimmed
}

// item is one vendor step: a numbered line at the top indentation and the
// lines under it.
type item struct {
	textNum int // the number written in the text
	num     int // the number it has in the procedure (continuous)
	line    int
	head    string
	body    []line
	section string // the heading above it, when it starts a section
}

var (
	// "3. Run …", "3) …", "3、…", "Step 3 …", "步骤3 …", "Шаг 3. …", "3단계 …".
	numberedRe = regexp.MustCompile(`^(?:(?:[Ss]tep|STEP|步骤|Шаг|шаг)\s*)?(\d{1,3})(?:[.)、．:：]|\s*단계[.:]?)(?:\s+|$|([^\d\s]))`)
	bulletRe   = regexp.MustCompile(`^(?:[•·▪◦‣*-]|[a-z][.)])\s+`)
)

// normalise drops what must not reach a YAML file or a terminal: C0/C1
// controls (tabs become spaces), escape sequences, bidi and invisible runes.
func normalise(src []byte) []line {
	s := strings.ToValidUTF8(string(src), "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	raw := strings.Split(s, "\n")
	out := make([]line, 0, len(raw))
	for i, l := range raw {
		l = strings.ReplaceAll(l, "\t", "    ")
		l = strings.ReplaceAll(untrusted.SanitizeLine(l), "\u00a0", " ")
		var b strings.Builder
		for _, r := range l {
			if unicode.IsControl(r) || untrusted.IsHidden(r) {
				continue
			}
			b.WriteRune(r)
		}
		l = strings.TrimRight(b.String(), " ")
		t := strings.TrimLeft(l, " \u3000")
		out = append(out, line{no: i + 1, indent: len(l) - len(t), text: t})
	}
	return out
}

// numbered reports the vendor number of a numbered line and the rest of it.
func numbered(t string) (int, string, bool) {
	m := numberedRe.FindStringSubmatchIndex(t)
	if m == nil {
		return 0, "", false
	}
	n, _ := strconv.Atoi(t[m[2]:m[3]])
	rest := t[m[1]:]
	if m[4] >= 0 { // "1.配置": the text starts right after the delimiter
		rest = t[m[4]:]
	}
	return n, strings.TrimSpace(rest), n > 0
}

// parse splits the text into a preamble, items and a trailer. Numbers that
// restart per section (an HTML-to-text export loses the vendor's continuous
// numbering) are renumbered continuously; routes refer to those numbers.
func parse(lines []line) (pre []line, items []*item, post []line) {
	top := -1
	for _, l := range lines {
		if _, _, ok := numbered(l.text); ok && (top < 0 || l.indent < top) {
			top = l.indent
		}
	}
	if top < 0 {
		return lines, nil, nil
	}
	var cur *item
	var heading []string
	seq := 0
	for _, l := range lines {
		if l.text == "" {
			if cur != nil {
				cur.body = append(cur.body, l)
			}
			continue
		}
		if n, rest, ok := numbered(l.text); ok && l.indent == top {
			seq++
			cur = &item{textNum: n, num: seq, line: l.no, head: rest}
			if len(heading) > 0 {
				cur.section = heading[len(heading)-1]
			}
			heading = nil
			items = append(items, cur)
			continue
		}
		if l.indent < top || (top == 0 && cur == nil) {
			// A heading between lists (or the text before the first one).
			if len(items) == 0 {
				pre = append(pre, l)
			} else {
				post = append(post, l)
			}
			heading = append(heading, l.text)
			cur = nil
			continue
		}
		if cur == nil {
			if len(items) == 0 {
				pre = append(pre, l)
			} else {
				post = append(post, l)
			}
			continue
		}
		cur.body = append(cur.body, l)
	}
	// Headings that followed the last item are the trailer; any before the
	// first item were already in pre. post holds every between-list heading
	// too: keep only what comes after the last item.
	if len(items) > 0 {
		last := items[len(items)-1].line
		var tail []line
		for _, l := range post {
			if l.no > last {
				tail = append(tail, l)
			}
		}
		post = tail
		// The trailer's lines were recorded as a heading for a next item that never came.
	}
	return pre, items, post
}

// blocks splits text without numbered steps into paragraphs: a short line
// without final punctuation followed by text starts a new one.
func blocks(lines []line) []*item {
	var out []*item
	var cur *item
	for i, l := range lines {
		if l.text == "" {
			continue
		}
		heading := len([]rune(l.text)) <= 60 && !strings.ContainsAny(lastRune(l.text), ".。:：,,;;!?") &&
			i+1 < len(lines) && !bulletRe.MatchString(l.text)
		if cur == nil || (heading && len(cur.body) > 0) {
			cur = &item{num: len(out) + 1, line: l.no, head: l.text}
			out = append(out, cur)
			continue
		}
		cur.body = append(cur.body, l)
	}
	return out
}

func lastRune(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	return string(r[len(r)-1])
}
