package engine

import (
	"bytes"
	"errors"
	"reflect"
	"strings"

	"github.com/expr-lang/expr/ast"
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

// visitsRefs checks that visits("x") names a step.
func (l *linter) visitsRefs(node ast.Node, p Pos, what string) {
	v := &callVisitor{name: "visits"}
	ast.Walk(&node, v)
	for _, id := range v.args {
		if l.rb.Step(id) == nil {
			l.errf(p, l.stepHint(id), "%s: visits(%q): no such step", what, id)
		}
	}
}

type callVisitor struct {
	name string
	args []string
}

func (v *callVisitor) Visit(n *ast.Node) {
	c, ok := (*n).(*ast.CallNode)
	if !ok || len(c.Arguments) == 0 {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == v.name {
		if s, ok := c.Arguments[0].(*ast.StringNode); ok {
			v.args = append(v.args, s.Value)
		}
	}
}

// captureStub is the shape of a capture's value, for type-checking
// expressions: text, a list (of text, or of maps with named groups), rows,
// or JSON.
func captureStub(c *Capture) any {
	switch c.Kind {
	case CaptureAll:
		if len(captureGroups(c)) > 0 {
			return []map[string]any{{}}
		}
		return []string{}
	case CaptureTable:
		return []map[string]any{{}}
	case CaptureJSON:
		if c.JSON == "list" {
			return []any{}
		}
		return map[string]any{}
	}
	return ""
}

// capturePatterns checks the interpolations of templated capture patterns:
// they may name params, targets and earlier steps, never this step's own
// output (which does not exist yet when the pattern is built).
func (l *linter) capturePatterns(st *Step) {
	for _, c := range st.Capture {
		if !strings.Contains(c.Pattern, "{{") {
			continue
		}
		env := l.baseEnv(st)
		t, err := parseTemplate(c.Pattern, func(code string) (*Program, error) { return l.compile(code, env) })
		if err != nil {
			p := c.PatPos
			var te *TemplateError
			if errors.As(err, &te) {
				p = l.offsetPos(p, c.Pattern, te.Offset)
			}
			l.errf(p, exprHint(err), "capture %s: %v", c.Name, err)
			continue
		}
		for _, part := range t.parts {
			if part.expr != nil {
				l.refs(part.expr, l.offsetPos(c.PatPos, c.Pattern, part.off), env, "capture "+c.Name)
			}
		}
	}
}

// texts checks the interpolations of text shown to people (questions,
// instructions, end messages) and of collected paths and `since`.
func (l *linter) texts(st *Step) {
	check := func(src string, p Pos, what string) {
		if strings.Contains(src, "{{") {
			l.template(st, src, p, what)
		}
	}
	if strings.Contains(st.Title, "{{") && !strings.Contains(st.Title, RawOpen) {
		l.warnf(st.Pos, "titles are shown as written: put the value in the ask, manual or message text, which are filled in", "step %q: the title's {{ }} is not filled in", st.ID)
	}
	switch st.Kind {
	case KindAsk:
		check(st.Ask, st.TextPos, "ask")
	case KindManual:
		check(st.Manual, st.TextPos, "manual")
	case KindEnd:
		check(st.Message, st.MessagePos, "message")
	case KindCollect:
		for _, it := range st.Collect {
			for _, g := range it.Files {
				check(g, it.FilesPos, "collect files")
			}
			if it.SinceSrc != "" {
				check(it.SinceSrc, it.SincePos, "collect since")
			}
		}
	}
}

// forEach checks a for_each step: the list expression, and the command
// with the item in scope, typed like the list's elements.
func (l *linter) forEach(st *Step, c *Command) {
	if cenv, ok := l.forEachEnv(st); ok {
		l.templateIn(cenv, c.Cmd, c.CmdPos, "command")
	}
}

// forEachEnv checks the list expression and gives the env with the item.
func (l *linter) forEachEnv(st *Step) (Env, bool) {
	env := l.baseEnv(st)
	prog, err := l.compile(st.ForEach, env)
	if err != nil {
		p, msg := l.exprErrPos(st.ForEachPos, st.ForEach, err.Error())
		l.errf(p, exprHint(err), "for_each: %s", msg)
		return nil, false
	}
	l.refs(prog, st.ForEachPos, env, "for_each")
	var item any = ""
	if t := prog.p.Node().Type(); t != nil {
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			if t.Elem().Kind() == reflect.Map {
				item = map[string]any{}
			}
		case reflect.Interface:
		default:
			l.errf(st.ForEachPos, "give a list: an all-match or table capture, or split(...)", "for_each: %s gives %s, not a list", st.ForEach, t)
			return nil, false
		}
	}
	cenv := Env{}
	for k, v := range env {
		cenv[k] = v
	}
	cenv[st.ItemName()] = item
	return cenv, true
}

// templateIn checks a template against env; what names it in messages.
func (l *linter) templateIn(env Env, src string, at Pos, what string) {
	t, err := parseTemplate(src, func(code string) (*Program, error) { return CompileExpr(code, env) })
	if err != nil {
		p := at
		var te *TemplateError
		if errors.As(err, &te) {
			p = l.offsetPos(p, src, te.Offset)
		}
		l.errf(p, exprHint(err), "%s: %v", what, err)
		return
	}
	for _, part := range t.parts {
		if part.expr != nil {
			l.refs(part.expr, l.offsetPos(at, src, part.off), env, what)
		}
	}
}
