package importer

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Result is an imported runbook skeleton.
type Result struct {
	YAML  []byte
	Steps []Step // in order, one per vendor step
	TODOs int    // how many guesses are marked # TODO
}

// Step is what became of one vendor step.
type Step struct {
	ID      string
	Ref     string // the vendor's number (continuous)
	TextRef string // the number as written, when the text restarts its numbering
	Line    int    // where it starts in the source
	Kind    string // run, fix, ask, manual, wait
	Routes  []Route
}

// Route is one "if COND, go to N" of a vendor step, as imported.
type Route struct {
	Cond string // yes, no, or the condition as written
	To   string // the step id it leads to (an end step for "no further action")
	Line int
}

type step struct {
	Step
	title     string
	text      string
	doc       string // ask: the whole vendor text
	cmds      []*command
	fixes     []*command // state-changing commands of a probe step
	routes    []route
	wait      time.Duration
	waitGuess bool
	section   string
	todo      []string
}

// Import reads a vendor procedure and writes a runbook skeleton. name is
// the source file name: the runbook id is made from it.
func Import(name string, src []byte) (*Result, error) {
	lines := normalise(src)
	pre, items, post := parse(lines)
	if len(items) == 0 {
		pre, post = nil, nil
		// No numbered steps: one manual step per paragraph.
		items = blocks(lines)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no text to import", name)
	}
	title := ""
	var desc []string
	for _, l := range pre {
		if l.text == "" {
			continue
		}
		if title == "" {
			title = l.text
			continue
		}
		desc = append(desc, l.text)
	}
	if title == "" {
		title = firstSentence(items[0].head)
	}
	used := map[string]bool{}
	var steps []*step
	byNum := map[int]*step{}
	if len(items) > 0 && hasCommand(pre) {
		// Checks before the numbered steps (a health check, then the
		// recovery lists): their paragraphs become steps too.
		desc = nil
		var rest []line
		for _, l := range pre {
			if l.text != title {
				rest = append(rest, l)
			}
		}
		for k, it := range blocks(rest) {
			st := analyse(it, used)
			st.ID, st.Ref = "part-"+strconv.Itoa(k+1), ""
			steps = append(steps, st)
		}
	}
	for _, it := range items {
		st := analyse(it, used)
		steps = append(steps, st)
		byNum[it.num] = st
	}
	var params []placeholder
	for _, st := range steps {
		for _, c := range append(append([]*command{}, st.cmds...), st.fixes...) {
			params = append(params, c.params...)
		}
	}
	ends := map[string]bool{}
	r := &Result{}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	todo := func(indent, msg string) {
		r.TODOs++
		w("%s# TODO: %s\n", indent, oneLine(msg))
	}
	w("# Imported by `runbook import` from %s: a skeleton to finish by hand.\n", filepath.Base(name))
	w("# Every guess is marked TODO; `runbook lint` checks the result.\n")
	w("runbook: 1\n")
	w("id: %s\n", q(slug(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)))))
	w("title: %s\n", q(text(title)))
	w("source: %s\n", q("imported from "+filepath.Base(name)))
	if len(desc) > 0 || len(post) > 0 {
		var d []string
		d = append(d, desc...)
		for _, l := range post {
			if l.text != "" {
				d = append(d, l.text)
			}
		}
		w("description: %s\n", block("  ", strings.Join(d, "\n")))
	}
	todo("", "the role the commands run on, and its description")
	w("targets:\n  host: {description: %s}\n", q("the host the vendor procedure logs in to"))
	if len(params) > 0 {
		w("params:\n")
		for _, p := range params {
			todo("  ", "type and description of "+p.name+" (a placeholder in the vendor text)")
			w("  %s: {type: string, pattern: %s, description: %s}\n", p.name, q(`[^-].*`), q(p.text))
		}
	}
	w("steps:\n")
	next := func(i int) string {
		if i+1 < len(steps) {
			return steps[i+1].ID
		}
		ends["escalated"] = true
		return "escalated"
	}
	target := func(st *step, rt route) string {
		if rt.end {
			ends["resolved"] = true
			return "resolved"
		}
		if t, ok := byNum[rt.to]; ok {
			return t.ID
		}
		ends["escalated"] = true
		st.todo = append(st.todo, fmt.Sprintf("line %d says go to %d: there is no step %d in the text; escalates for now", rt.line, rt.to, rt.to))
		return "escalated"
	}
	for i, st := range steps {
		// Routes to the same place once; the first condition names it.
		var rts []Route
		seen := map[string]bool{}
		for _, rt := range st.routes {
			to := target(st, rt)
			if seen[to] {
				continue
			}
			seen[to] = true
			rts = append(rts, Route{Cond: rt.cond, To: to, Line: rt.line})
		}
		st.Routes = rts
		if st.section != "" {
			w("  # --- %s\n", oneLine(st.section))
		}
		if st.TextRef != "" {
			st.todo = append(st.todo, fmt.Sprintf("numbered %s in the text (line %d); the text restarts its numbering per section, so the ref assumes the vendor's continuous numbers", st.TextRef, st.Line))
		}
		for _, t := range st.todo {
			todo("  ", t)
		}
		w("  - id: %s\n", st.ID)
		if st.Ref != "" {
			w("    ref: %s\n", q(st.Ref))
		}
		w("    title: %s\n", q(text(st.title)))
		fixID := ""
		if len(st.fixes) > 0 {
			fixID = st.ID + "-fix"
		}
		switch st.Kind {
		case "run", "fix":
			if st.text != "" {
				w("    doc: %s\n", block("      ", st.text))
			}
			w("    %s:\n      on: host\n", st.Kind)
			for _, c := range st.cmds {
				for _, t := range c.todo {
					todo("      ", t)
				}
			}
			w("      cmd: %s\n", cmdBlock("        ", st.cmds))
			w("      timeout: 1m\n")
			if st.Kind == "fix" && anyDestructive(st.cmds) {
				w("      destructive: true\n")
			}
			switch {
			case fixID != "":
				todo("    ", "when the fix below is needed: the condition is a guess")
				w("    branches:\n      - {if: \"exit == 0\", goto: %s}\n", fixID)
				if len(rts) > 0 {
					w("    else: %s\n", q(rts[0].To))
				} else {
					w("    else: %s\n", q(next(i)))
				}
			case len(rts) >= 2:
				w("    branches:\n")
				for k, rt := range rts[:len(rts)-1] {
					r.TODOs++
					w("      - {if: \"exit == %d\", goto: %s}  # TODO: the text says %s\n", k, q(rt.To), q(rt.Cond))
				}
				last := rts[len(rts)-1]
				w("    else: %s  # text: %s\n", q(last.To), q(last.Cond))
			case len(rts) == 1:
				w("    next: %s\n", q(rts[0].To))
			default:
				w("    next: %s\n", q(next(i)))
			}
		case "wait":
			if st.text != "" {
				w("    doc: %s\n", block("      ", st.text))
			}
			w("    wait:\n")
			if st.waitGuess {
				todo("      ", "the text gives no exact time; 5 minutes assumed")
			}
			every := st.wait / 4
			if every < time.Second {
				every = time.Second
			}
			todo("      ", "a probe that exits 0 once the condition holds (e.g. the alarm is cleared)")
			w("      every: %s\n      timeout: %s\n", dur(every), dur(st.wait))
			w("      run: {on: host, cmd: %s, timeout: 30s}\n", q("echo 'no probe yet: check by hand'; exit 1"))
			w("      until: \"exit == 0\"\n")
			switch {
			case len(rts) >= 2:
				w("    branches:\n      - {if: satisfied, goto: %s}  # text: %s\n", q(rts[0].To), q(rts[0].Cond))
				w("    else: %s  # text: %s\n", q(rts[len(rts)-1].To), q(rts[len(rts)-1].Cond))
			case len(rts) == 1:
				w("    next: %s\n", q(rts[0].To))
			default:
				w("    next: %s\n", q(next(i)))
			}
		case "ask":
			if st.doc != st.text {
				w("    doc: %s\n", block("      ", st.doc))
			}
			w("    ask: %s\n", block("      ", st.text))
			w("    choices:\n")
			keys := map[string]bool{}
			for _, rt := range rts {
				k := rt.Cond
				if k == "" {
					k = "go to " + rt.To
				}
				for n := 2; keys[k]; n++ {
					k = rt.Cond + " (" + strconv.Itoa(n) + ")"
				}
				keys[k] = true
				w("      %s: %s\n", q(k), q(rt.To))
			}
			w("    auto: stop\n")
		default: // manual
			w("    manual: %s\n", block("      ", st.text))
			if len(rts) >= 1 {
				w("    next: %s\n", q(rts[0].To))
			} else {
				w("    next: %s\n", q(next(i)))
			}
		}
		if fixID != "" {
			for _, c := range st.fixes {
				for _, t := range c.todo {
					todo("  ", t)
				}
			}
			todo("  ", "split from step "+st.Ref+": the text runs this only in some cases")
			w("  - id: %s\n", fixID)
			// The title is the command as the vendor wrote it (titles are
			// shown as written, never filled in).
			title := firstLine(st.fixes[0].cmd)
			for _, p := range st.fixes[0].params {
				title = strings.ReplaceAll(title, "{{ params."+p.name+" }}", p.text)
			}
			title = text(title)
			w("    title: %s\n", q(title))
			if anyDestructive(st.fixes) {
				w("    doc: %s\n", q("Changes state on the host: check the command against the vendor text."))
			}
			w("    fix:\n      on: host\n      cmd: %s\n      timeout: 1m\n", cmdBlock("        ", st.fixes))
			if anyDestructive(st.fixes) {
				w("      destructive: true\n")
			}
			if len(rts) > 0 {
				w("    next: %s\n", q(rts[0].To))
			} else {
				w("    next: %s\n", q(next(i)))
			}
		}
	}
	var names []string
	for e := range ends {
		names = append(names, e)
	}
	sort.Strings(names)
	for _, e := range names {
		w("  - id: %s\n    end: %s\n", e, e)
		if e == "resolved" {
			w("    message: %s\n", q("No further action is required."))
		} else {
			w("    message: %s\n", q("Collect the fault information and contact the vendor's support."))
		}
	}
	for _, st := range steps {
		r.Steps = append(r.Steps, st.Step)
	}
	r.YAML = []byte(b.String())
	return r, nil
}

// analyse turns one vendor item into a step: commands, routes, a wait.
func analyse(it *item, used map[string]bool) *step {
	st := &step{Step: Step{ID: "step-" + strconv.Itoa(it.num), Ref: strconv.Itoa(it.num), Line: it.line}, section: it.section}
	if it.textNum != 0 && it.textNum != it.num {
		st.TextRef = strconv.Itoa(it.textNum)
	}
	st.title = firstSentence(it.head)
	all := append([]line{{no: it.line, text: it.head}}, it.body...)
	var prose []string
	example := false
	headCmd := false
	for k, l := range all {
		if l.text == "" {
			if len(prose) > 0 && prose[len(prose)-1] != "" {
				prose = append(prose, "")
			}
			continue
		}
		st.routes = append(st.routes, routesIn(l)...)
		t := bulletRe.ReplaceAllString(l.text, "")
		cmd, ok := "", false
		if k > 0 {
			if _, _, nested := numbered(t); nested {
				t = l.text
			}
			cmd, ok = commandIn(t)
		} else if m := colonCmdRe.FindStringSubmatch(t); m != nil {
			cmd, ok = commandIn(m[1])
			headCmd = ok
		}
		if ok && !example {
			f := strings.Fields(cmd)
			w := f[0]
			if w == "sudo" && len(f) > 1 {
				w = f[1]
			}
			if interactive[w] {
				st.todo = append(st.todo, fmt.Sprintf("line %d: `%s` is interactive; left to the operator in the text", l.no, oneLine(cmd)))
				prose = append(prose, "    "+cmd)
				continue
			}
			c := classify(cmd, l.no, used)
			if c.changes {
				st.fixes = append(st.fixes, c)
			} else {
				st.cmds = append(st.cmds, c)
			}
			prose = append(prose, "    "+cmd)
			continue
		}
		if exampleRe.MatchString(t) {
			example = true
		} else if !ok {
			// Prose after an example ends it.
			example = example && k > 0 && strings.HasSuffix(strings.TrimSpace(prose[len(prose)-1]), ":")
		}
		if k == 0 && headCmd {
			continue
		}
		prose = append(prose, indentOf(l, it)+l.text)
	}
	_ = headCmd
	st.text = strings.TrimSpace(strings.Join(prose, "\n"))
	if st.text == "" {
		st.text = st.title
	}
	if d, guess, ok := waitIn(it.head); ok && len(st.cmds) == 0 && len(st.fixes) == 0 {
		st.Kind, st.wait, st.waitGuess = "wait", d, guess
		return st
	}
	switch {
	case len(st.cmds) > 0:
		st.Kind = "run"
	case len(st.fixes) > 0:
		st.Kind, st.cmds, st.fixes = "fix", st.fixes, nil
	case len(distinctRoutes(st.routes)) >= 2:
		st.Kind = "ask"
		st.doc = st.text
		st.text = sentence(it.head, 400)
		if !strings.HasSuffix(st.text, "?") {
			st.todo = append(st.todo, "the question is the vendor step's first sentence; make it a yes/no question")
		}
	default:
		st.Kind = "manual"
	}
	// cd alone shows nothing: list the directory.
	if st.Kind == "run" && len(st.cmds) == 1 && strings.HasPrefix(st.cmds[0].cmd, "cd ") {
		st.cmds[0].cmd += " && ls -l"
		st.cmds[0].todo = append(st.cmds[0].todo, "`cd` alone shows nothing; the probe lists the directory")
	}
	return st
}

func hasCommand(ls []line) bool {
	for _, l := range ls {
		if _, ok := commandIn(l.text); ok {
			return true
		}
	}
	return false
}

func distinctRoutes(rs []route) map[string]bool {
	m := map[string]bool{}
	for _, r := range rs {
		m[fmt.Sprint(r.end, r.to)] = true
	}
	return m
}

func indentOf(l line, it *item) string {
	if l.no == it.line {
		return ""
	}
	n := l.indent - 2
	if n < 0 {
		n = 0
	}
	if n > 8 {
		n = 8
	}
	return strings.Repeat(" ", n)
}

func anyDestructive(cs []*command) bool {
	for _, c := range cs {
		if c.destructive {
			return true
		}
	}
	return false
}

var sentenceEnd = regexp.MustCompile(`[.。:：;；!?！？](\s|$)|[。：；！？]`)

func firstSentence(s string) string { return sentence(s, 80) }

func sentence(s string, max int) string {
	s = strings.TrimSpace(s)
	if m := sentenceEnd.FindStringIndex(s); m != nil && m[0] > 0 {
		end := m[0]
		if strings.HasSuffix(s[:m[1]], "?") || strings.HasSuffix(strings.TrimSpace(s[:m[1]]), "?") {
			end = m[0] + 1
		}
		s = s[:end]
	}
	if r := []rune(s); len(r) > max {
		s = string(r[:max-3]) + "..."
	}
	if s == "" {
		s = "(untitled)"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	s = strings.Trim(slugRe.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "imported"
	}
	return s
}

// text makes vendor text safe in a templated field: braces stay literal.
func text(s string) string {
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
		return "{{raw}}" + strings.ReplaceAll(s, "{{/raw}}", "{{/ raw}}") + "{{/raw}}"
	}
	return s
}

// q is a YAML double-quoted scalar.
func q(s string) string { return strconv.Quote(s) }

// block is a YAML literal block scalar at the given indentation (for text
// of several lines), or a quoted scalar.
func block(indent, s string) string {
	s = text(strings.TrimSpace(s))
	if !strings.Contains(s, "\n") {
		return q(s)
	}
	var b strings.Builder
	b.WriteString("|-\n")
	for _, l := range strings.Split(s, "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(indent + l + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// cmdBlock joins a step's commands into one script. Commands keep their
// {{ params.x }} placeholders; any other braces are literal.
func cmdBlock(indent string, cs []*command) string {
	var parts []string
	for _, c := range cs {
		cmd := c.cmd
		if len(c.params) == 0 {
			cmd = text(cmd)
		}
		parts = append(parts, cmd)
	}
	s := strings.Join(parts, "\n")
	if !strings.Contains(s, "\n") {
		return q(s)
	}
	return "|-\n" + indent + strings.ReplaceAll(s, "\n", "\n"+indent)
}

func dur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}
