package engine

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// optionPositions warns where a template puts a value that may start with
// '-' in a word a command can read as an option: any argument of a simple
// command (GNU tools permute options, so `wc -l FILE {{ x }}` counts too)
// with no `--` before it. Values that cannot start with '-' are fine: typed
// params and inputs (Validate refuses a leading '-'), strings whose pattern
// cannot match one, and words the value does not start (`--path={{ x }}`,
// `ecss-{{ x }}`). `wc -l {{ params.f }}` with f=--files0-from=/etc/shadow
// reads any file; `wc -l -- {{ params.f }}` does not.
func (l *linter) optionPositions(st *Step, t *Template, p Pos, what string) {
	// The source with every interpolation replaced by \x00N\x01.
	var b strings.Builder
	for i, part := range t.parts {
		if part.expr == nil {
			b.WriteString(part.lit)
		} else {
			fmt.Fprintf(&b, "\x00%d\x01", i)
		}
	}
	for _, cmd := range simpleCommands(b.String()) {
		args := commandArgs(cmd)
		for _, w := range args {
			if w == "--" {
				break
			}
			w = strings.TrimLeft(w, `"'`)
			if !strings.HasPrefix(w, "\x00") {
				continue
			}
			var i int
			if _, err := fmt.Sscanf(w, "\x00%d\x01", &i); err != nil || i >= len(t.parts) || t.parts[i].expr == nil {
				continue
			}
			code := t.parts[i].expr.String()
			if captureRefRE.MatchString(strings.TrimSpace(code)) && l.valueMayStartWithDash(st, code) {
				l.warnf(p, "put `--` before it, e.g. `"+commandName(cmd)+" ... -- {{ "+code+" }}`, or make the capture's pattern refuse a leading '-' (e.g. `(\\d+)` or `([A-Za-z0-9_][^\\s]*)`)",
					"%s: {{ %s }} is where %s reads options, and it holds text the host printed: a value starting with '-' becomes an option (a pid of -1 makes `kill -9` signal every process)", what, code, commandName(cmd))
			} else if l.valueMayStartWithDash(st, code) {
				l.warnf(p, "put `--` before it, e.g. `"+commandName(cmd)+" ... -- {{ "+code+" }}`, or give the param a type (path, host, ip, int...) or a pattern that refuses a leading '-'",
					"%s: {{ %s }} is where %s reads options: a value starting with '-' becomes an option (e.g. --files0-from=/etc/shadow)", what, code, commandName(cmd))
			}
		}
	}
}

var (
	paramRefRE   = regexp.MustCompile(`^(params|input)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*"([^"]+)"\s*\])$`)
	captureRefRE = regexp.MustCompile(`^steps\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)$`)
)

// valueMayStartWithDash: whether the expression's value may start with '-'.
// Params and fix inputs are judged by type and pattern; a capture of an
// earlier step (steps["find"].pid: text the host printed, so possibly
// hostile: `kill -9 {{ steps.find.pid }}` with pid "-1" kills every process)
// by its pattern's group. Other values (targets, computed expressions) are
// left alone here.
func (l *linter) valueMayStartWithDash(st *Step, code string) bool {
	code = strings.TrimSpace(code)
	if m := captureRefRE.FindStringSubmatch(code); m != nil {
		return l.captureMayStartWithDash(m[1]+m[2], m[3])
	}
	m := paramRefRE.FindStringSubmatch(code)
	if m == nil {
		return false
	}
	name := m[2] + m[3]
	var p *Param
	if m[1] == "params" {
		p = l.rb.Param(name)
	} else if c := st.Command(); c != nil {
		for _, in := range c.Input {
			if in.Name == name {
				p = in
			}
		}
	}
	if p == nil {
		return false // reported elsewhere as unknown
	}
	if p.Type != ParamString && p.Type != "" {
		return false // Validate refuses a leading '-'
	}
	if p.Pattern == "" {
		return true
	}
	re, err := syntax.Parse(`^(?:`+p.Pattern+`)$`, syntax.Perl)
	if err != nil {
		return false // reported as a bad pattern
	}
	return mayStart(re.Simplify(), '-')
}

// captureMayStartWithDash: whether step's first-match capture name (its
// regular expression's group 1, or the group of that name) may start with
// '-'. Lists, tables and JSON are not strings in a command; unknown steps and
// captures are reported elsewhere.
func (l *linter) captureMayStartWithDash(step, name string) bool {
	st := l.rb.Step(step)
	if st == nil {
		return false
	}
	for _, c := range st.Capture {
		if c.Name != name || (c.Kind != CaptureFirst && c.Kind != "") || strings.Contains(c.Pattern, "{{") {
			continue
		}
		re, err := syntax.Parse(c.Pattern, syntax.Perl)
		if err != nil {
			return false
		}
		g := captureGroup(re, name)
		if g == nil {
			return false
		}
		return mayStart(g.Simplify(), '-')
	}
	return false
}

// captureGroup is the group a capture keeps: the one called name, else
// group 1.
func captureGroup(re *syntax.Regexp, name string) *syntax.Regexp {
	var named, first *syntax.Regexp
	var walk func(*syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if r.Op == syntax.OpCapture {
			if r.Name == name && named == nil {
				named = r.Sub[0]
			}
			if r.Cap == 1 {
				first = r.Sub[0]
			}
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(re)
	if named != nil {
		return named
	}
	return first
}

// mayStart reports whether a string matching re may start with r.
func mayStart(re *syntax.Regexp, r rune) bool {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return false
		}
		c := re.Rune[0]
		return c == r || re.Flags&syntax.FoldCase != 0 && strings.EqualFold(string(c), string(r))
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= r && r <= re.Rune[i+1] {
				return true
			}
		}
		return false
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		return mayStart(re.Sub[0], r)
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if mayStart(s, r) {
				return true
			}
		}
		return false
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if mayStart(s, r) {
				return true
			}
			if !nullable(s) {
				return false
			}
		}
		return false
	}
	return false // empty-width operators match no character
}

// nullable reports whether re matches the empty string.
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpNoMatch:
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	}
	return true
}

// simpleCommands splits a shell script into simple commands, each a list
// of words (quotes kept, so a word still shows how it starts). Separators:
// newline ; & | ( ) ` and $( . Approximate by design: enough to see where
// a command's arguments are.
func simpleCommands(s string) [][]string {
	var cmds [][]string
	var cur []string
	var w strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			cur = append(cur, w.String())
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(cur) > 0 {
			cmds = append(cmds, cur)
			cur = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			w.WriteString(s[i : i+1+j+min(1, len(s)-(i+1+j))])
			i += j + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			w.WriteString(s[i:min(j+1, len(s))])
			i = j
			inWord = true
		case c == '\\' && i+1 < len(s):
			if s[i+1] != '\n' {
				w.WriteString(s[i : i+2])
				inWord = true
			}
			i++
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			endCmd()
			i++
		case c == ' ' || c == '\t':
			endWord()
		case strings.IndexByte("\n;&|()`", c) >= 0:
			endCmd()
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			endCmd()
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// shellWords that do not name the command: the next word does.
var shellWords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "do": true, "while": true, "until": true,
	"!": true, "{": true, "}": true, "time": true, "exec": true, "fi": true, "done": true}

var assignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// commandArgs drops what precedes the command (assignments, keywords)
// and the command itself, and redirection targets; for and case lines have
// no arguments in this sense.
func commandArgs(words []string) []string {
	i := 0
	for i < len(words) && (shellWords[words[i]] || assignRE.MatchString(words[i])) {
		i++
	}
	if i >= len(words) || words[i] == "for" || words[i] == "case" || words[i] == "[" || words[i] == "test" || words[i] == "echo" || words[i] == "printf" {
		// test/[ read their operands by position; echo and printf print them
		// (printf's format is its first word, checked below by position).
		if i < len(words) && words[i] == "printf" && i+1 < len(words) {
			return words[i+1 : i+2]
		}
		return nil
	}
	var out []string
	for j := i + 1; j < len(words); j++ {
		w := words[j]
		if strings.TrimLeft(w, "0123456789") != w && strings.ContainsAny(w[:1], "0123456789") && strings.ContainsAny(w, "<>") {
			w = strings.TrimLeft(w, "0123456789")
		}
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, ">") {
			if strings.TrimLeft(w, "<>&") == "" {
				j++ // the target is the next word
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// commandName is the command a simple command runs, for messages.
func commandName(words []string) string {
	for _, w := range words {
		if !shellWords[w] && !assignRE.MatchString(w) {
			return w
		}
	}
	return "the command"
}
