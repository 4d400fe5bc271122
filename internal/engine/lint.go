package engine

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Lint checks a loaded runbook as a whole and returns every problem at once,
// sorted by position: routes to missing steps, unreachable steps, dead ends,
// expressions and templates that do not compile or name unknown things,
// undeclared targets and params, and unsafe fixes.
func Lint(rb *Runbook) Diagnostics {
	return lint(rb, nil)
}

// lint is Lint over a possibly half-loaded runbook (see Check): info names
// the damaged parts, whose absence must not be reported as graph problems.
func lint(rb *Runbook, info *loadInfo) Diagnostics {
	if info == nil {
		info = &loadInfo{}
	}
	l := &linter{rb: rb, file: rb.File, info: info, broken: map[*Step]bool{}}
	l.routes()
	l.graph()
	l.fleet()
	l.alertChecks()
	for _, st := range rb.Steps {
		if st.Frame == nil { // inlined from a call: linted in its own file
			l.step(st)
		}
	}
	for _, p := range rb.Params {
		dp := p.DefaultPos
		if dp.Line == 0 {
			dp = p.Pos
		}
		switch {
		case !p.HasDefault:
		case !contains(paramTypes, p.Type), p.Type == ParamEnum && len(p.Values) == 0:
			// the loader reported the param itself; its default cannot be judged
		case strings.Contains(p.Default, "{{"):
			env := Env{"params": l.paramsEnv(), "targets": l.targetsEnv()}
			if _, err := ParseTemplate(p.Default, env); err != nil {
				l.errf(dp, "", "param %s default: %v", p.Name, err)
			}
		default:
			if _, err := p.Validate(p.Default); err != nil {
				l.errf(dp, p.Describe(), "param default is invalid: %v", err)
			}
		}
	}
	return l.ds.sorted()
}

type linter struct {
	rb   *Runbook
	file string
	info *loadInfo
	// broken are steps whose way out is itself an error (a dangling or
	// missing route). The graph checks treat them as able to finish and skip
	// reachability, so one mistake is reported once, not echoed.
	broken map[*Step]bool
	// Shared, read-only parts of every expression env, built once: rebuilding
	// them per expression made lint quadratic in the number of steps.
	stepsEnv, paramsE, targetsE map[string]any
	groups                      map[*Capture][]string
	cache                       map[string]compiled
	diagList
}

func (l *linter) at(p Pos) Pos {
	if p.File == "" {
		p.File = l.file
	}
	return p
}

func (l *linter) errf(p Pos, hint, format string, args ...any) {
	d := Diagnostic{Pos: l.at(p), Severity: SevError, Message: fmt.Sprintf(format, args...), Hint: hint}
	for _, x := range l.ds {
		if x == d {
			return // one expression can name the same bad key twice (steps["x"], steps["x"].y)
		}
	}
	l.ds = append(l.ds, d)
}

func (l *linter) warnf(p Pos, hint, format string, args ...any) {
	l.diagList.warnf(l.at(p), hint, format, args...)
}

func (l *linter) stepHint(name string) string {
	var ids []string
	for _, s := range l.rb.Steps {
		ids = append(ids, s.ID)
	}
	if c := closest(name, ids); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return "no step has this id or ref"
}

func (l *linter) routes() {
	var st *Step
	check := func(target string, p Pos, what string) {
		if target != "" && l.rb.Step(target) == nil {
			l.errf(p, l.stepHint(target), "%s %q: no such step", what, target)
			l.broken[st] = true
		}
	}
	for _, st = range l.rb.Steps {
		if !hasRouteOut(st) {
			l.broken[st] = true
		}
		for _, b := range st.Branches {
			check(b.Goto, b.GotoPos, "goto")
		}
		for _, c := range st.Choices {
			check(c.Goto, c.Pos, "choice "+c.Answer+" leads to")
		}
		check(st.Else, st.ElsePos, "else")
		check(st.Next, st.NextPos, "next")
		check(st.OnError, st.OnErrorPos, "on_error")
	}
}

// graph reports unreachable steps and steps from which no end can be reached.
func (l *linter) graph() {
	steps := l.rb.Steps
	if len(steps) == 0 || steps[0].ID == "" {
		return
	}
	next := map[string][]string{}
	prev := map[string][]string{}
	for _, st := range steps {
		for _, r := range st.Routes() {
			if t := l.rb.Step(r); t != nil {
				next[st.ID] = append(next[st.ID], t.ID)
				prev[t.ID] = append(prev[t.ID], st.ID)
			}
		}
	}
	reach := walk(steps[0].ID, next)
	// A damaged step may have lost its routes: count it as able to finish,
	// so its predecessors are not blamed for what the loader already reported.
	var ends []string
	realEnds := 0
	for _, st := range steps {
		if st.Kind == KindEnd {
			realEnds++
		}
		if st.Kind == KindEnd || l.info.damaged[st] || l.broken[st] {
			ends = append(ends, st.ID)
		}
	}
	toEnd := map[string]bool{}
	for _, e := range ends {
		for id := range walk(e, prev) {
			toEnd[id] = true
		}
	}
	if realEnds == 0 {
		l.errf(l.rb.Pos, "add a step with `end: resolved` (or escalated, aborted)", "runbook has no end step")
	}
	for _, st := range steps {
		if st.ID == "" || l.info.damaged[st] || l.broken[st] {
			continue
		}
		if !reach[st.ID] {
			if l.info.stepsDamaged || len(l.broken) > 0 {
				continue // it may be reached through what failed to load
			}
			l.errf(st.IDPos, "route to it from an earlier step, or remove it", "step %q is unreachable from the first step %q", st.ID, steps[0].ID)
			continue
		}
		if len(ends) > 0 && !toEnd[st.ID] {
			l.errf(st.IDPos, "every path must be able to finish: add a route towards an end step", "no end step can be reached from step %q", st.ID)
		}
	}
}

// hasRouteOut reports whether a step that must lead somewhere declares a
// route. Steps of no (or two) kinds were reported by the loader.
func hasRouteOut(st *Step) bool {
	switch st.Kind {
	case KindEnd, "":
		return true
	case KindAsk:
		return len(st.Choices) > 0
	case KindManual:
		return st.Next != "" || len(st.Choices) > 0
	case KindCollect:
		return st.Next != ""
	}
	return len(st.Branches) > 0 || st.Else != "" || st.Next != "" || st.OnError != ""
}

func walk(start string, edges map[string][]string) map[string]bool {
	seen := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range edges[cur] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return seen
}

func (l *linter) step(st *Step) {
	for _, c := range st.Capture {
		if contains(builtinNames, c.Name) {
			l.errf(c.Pos, "choose another name", "capture %q shadows the built-in name %q", c.Name, c.Name)
		}
		for _, g := range l.groupNames(c) {
			if contains(builtinNames, g) {
				l.errf(c.Pos, "choose another name", "capture group %q shadows the built-in name %q", g, g)
			}
		}
	}
	l.capturePatterns(st)
	l.examples(st)
	l.texts(st)
	switch st.Kind {
	case KindRun, KindFix, KindWait:
		if len(st.Branches) > 0 && st.Else == "" && st.Next == "" {
			l.errf(st.Pos, "add `else: STEP` for when no branch holds", "step %q has branches but no else", st.ID)
		}
		if len(st.Branches) == 0 && st.Else == "" && st.Next == "" && st.OnError == "" {
			l.errf(st.Pos, "add `next: STEP`, or `branches` with `else`", "step %q has no route out", st.ID)
		}
		if st.Else != "" && st.Next != "" {
			l.errf(st.NextPos, "use else with branches, next without", "step %q has both else and next", st.ID)
		}
		c := st.Command()
		if c != nil {
			l.target(c.On, c.OnPos)
			if st.ForEach != "" {
				l.forEach(st, c)
			} else {
				l.template(st, c.Cmd, c.CmdPos, "command")
			}
		}
		env := l.probeEnv(st)
		for _, b := range st.Branches {
			l.expr(st, b.If, b.IfPos, env, "if")
		}
		if st.Kind == KindWait && st.Wait != nil {
			if st.Wait.Until != "" {
				l.expr(st, st.Wait.Until, st.Wait.UntilPos, env, "until")
			}
			l.timedWaitExprs(st)
		}
		if st.Kind == KindFix && st.Fix.Destructive && strings.TrimSpace(st.Doc) == "" {
			l.errf(st.Pos, "explain what it destroys and when it is safe in `doc:`", "destructive fix %q has no doc", st.ID)
		}
	case KindAsk:
		if len(st.Choices) == 0 {
			l.errf(st.Pos, "add `choices: {\"yes\": STEP, \"no\": STEP}`", "ask %q has no choices", st.ID)
		}
		if st.Auto == "" {
			l.warnf(st.Pos, "add `auto: ANSWER`, or `auto: stop` when only a human can answer", "ask %q has no auto policy: --auto will stop here", st.ID)
		} else if st.Auto != "stop" && !contains(choiceNames(st), st.Auto) {
			env := l.baseEnv(st)
			l.expr(st, st.Auto, st.AutoPos, env, "auto")
		}
	case KindManual:
		if st.Next == "" && len(st.Choices) == 0 {
			l.errf(st.Pos, "add `next: STEP`", "manual step %q has no route out", st.ID)
		}
		if st.Next != "" && len(st.Choices) > 0 {
			l.errf(st.NextPos, "use choices or next", "manual step %q has both choices and next", st.ID)
		}
	case KindCall:
		l.callChecks(st)
	case KindCollect:
		for _, it := range st.Collect {
			l.target(it.On, it.OnPos)
			if it.Cmd != "" {
				l.template(st, it.Cmd, it.Pos, "collect command")
			}
			for _, g := range it.Files {
				if !strings.HasPrefix(g, "/") && !strings.HasPrefix(g, "~") && !strings.HasPrefix(g, "{{") {
					l.errf(it.Pos, "remote globs are absolute, e.g. /var/log/app/*.log", "collect glob %q is not absolute", g)
				}
			}
		}
		if st.Next == "" {
			l.errf(st.Pos, "add `next: STEP`", "collect step %q has no next", st.ID)
		}
	}
}

// groupNames are a capture pattern's named groups: values of their own.
func (l *linter) groupNames(c *Capture) []string {
	if g, ok := l.groups[c]; ok {
		return g
	}
	if l.groups == nil {
		l.groups = map[*Capture][]string{}
	}
	out := captureGroups(c)
	l.groups[c] = out
	return out
}

func captureGroups(c *Capture) []string {
	re, err := regexp.Compile(c.Pattern)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range re.SubexpNames() {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (l *linter) target(name string, p Pos) {
	if name != "" && l.rb.Target(name) == nil {
		var names []string
		for _, t := range l.rb.Targets {
			names = append(names, t.Name)
		}
		hint := "declare it under `targets:`"
		if c := closest(name, names); c != "" {
			hint = fmt.Sprintf("did you mean %q?", c)
		}
		l.errf(p, hint, "unknown target %q", name)
	}
}

func (l *linter) paramsEnv() map[string]any {
	if l.paramsE != nil {
		return l.paramsE
	}
	m := map[string]any{}
	defer func() { l.paramsE = m }()
	for _, p := range l.rb.Params {
		if p.Type == ParamInt {
			m[p.Name] = int64(0)
		} else {
			m[p.Name] = ""
		}
	}
	return m
}

func (l *linter) targetsEnv() map[string]any {
	if l.targetsE != nil {
		return l.targetsE
	}
	m := map[string]any{}
	defer func() { l.targetsE = m }()
	for _, t := range l.rb.Targets {
		m[t.Name] = map[string]any{"name": "", "address": "", "user": "", "hosts": []any{}, "addresses": []any{}}
	}
	return m
}

// baseEnv is what every expression at step st may name.
func (l *linter) baseEnv(st *Step) Env {
	if l.stepsEnv == nil {
		l.stepsEnv = l.buildStepsEnv()
	}
	input := map[string]any{}
	if st.Kind == KindFix && st.Fix != nil {
		for _, in := range st.Fix.Input {
			input[in.Name] = ""
		}
	}
	return Env{
		"params":  l.paramsEnv(),
		"answers": map[string]any{},
		"steps":   l.stepsEnv,
		"targets": l.targetsEnv(),
		"input":   input,
		"now":     time.Now,
		"visits":  func(string) int { return 0 },
	}
}

// buildStepsEnv is what `steps["id"].x` may name, for every step.
func (l *linter) buildStepsEnv() map[string]any {
	steps := map[string]any{}
	for _, x := range l.rb.Steps {
		m := map[string]any{"exit": 0, "stdout": "", "stderr": "", "signal": "", "timed_out": false, "duration": 0.0, "results": []any{}, "answer": ""}
		for _, c := range x.Capture {
			m[c.Name] = captureStub(c)
			for _, g := range l.groupNames(c) {
				m[g] = ""
			}
		}
		if x.Kind == KindWait {
			m["satisfied"], m["polls"], m["elapsed"] = false, 0, 0.0
		}
		if x.PerHost != nil {
			m["paths"] = []any{}
		}
		if x.Rollout != nil {
			m["rollout"] = map[string]any{"failed": []any{}, "skipped": []any{}, "stopped": false}
		}
		steps[x.ID] = m
	}
	return steps
}

func (l *linter) probeEnv(st *Step) Env {
	env := l.baseEnv(st)
	env["exit"], env["stdout"], env["stderr"], env["signal"], env["timed_out"], env["duration"] = 0, "", "", "", false, 0.0
	env["results"] = []map[string]any{{"host": "", "exit": 0, "stdout": "", "stderr": "", "signal": "", "timed_out": false, "error": ""}}
	caps := map[string]any{}
	for _, c := range st.Capture {
		env[c.Name] = captureStub(c)
		caps[c.Name] = captureStub(c)
		for _, g := range l.groupNames(c) {
			if !contains(builtinNames, g) {
				env[g], caps[g] = "", ""
			}
		}
	}
	env["captures"] = caps
	if st.Kind == KindWait {
		env["satisfied"], env["polls"], env["elapsed"] = false, 0, 0.0
	}
	return env
}

func (l *linter) expr(st *Step, src string, p Pos, env Env, what string) {
	if strings.TrimSpace(src) == "" {
		return
	}
	prog, err := l.compile(src, env)
	if err != nil {
		p, msg := l.exprErrPos(p, src, err.Error())
		l.errf(p, exprHint(err), "%s: %s", what, msg)
		return
	}
	l.refs(prog, p, env, what)
	l.guards(st, src, p, what)
}

// guards warns where an expression converts a capture without has(): a
// capture that does not match has no value, and converting it stops the
// run with an error (the honest outcome, but rarely what the author meant).
// Comparing a capture with "" does not test for "no match" either.
func (l *linter) guards(st *Step, src string, p Pos, what string) {
	tree, err := parser.Parse(src)
	if err != nil {
		return
	}
	caps := map[string]bool{}
	for _, n := range captureNames(st) {
		caps[n] = true
	}
	v := &guardVisitor{rb: l.rb, caps: caps, guarded: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	warned := map[string]bool{}
	for _, c := range v.converted {
		if !v.guarded[c.name] && !warned[c.fn+c.name] {
			warned[c.fn+c.name] = true
			l.warnf(p, fmt.Sprintf("guard it: has(%s) && %s(%s) ...", c.name, c.fn, c.name),
				"%s: %s(%s) converts a capture that may not match; without a guard a run where it does not match stops with an error", what, c.fn, c.name)
		}
	}
	for _, name := range v.emptyCmp {
		if !v.guarded[name] && !warned["cmp"+name] {
			warned["cmp"+name] = true
			l.warnf(p, fmt.Sprintf("use has(%s) to test whether it matched", name),
				"%s: comparing capture %s with \"\" does not tell \"did not match\" (no value) from an empty match", what, name)
		}
	}
}

type convRef struct{ fn, name string }

type guardVisitor struct {
	rb        *Runbook
	caps      map[string]bool
	converted []convRef
	emptyCmp  []string
	guarded   map[string]bool
}

var convFuncs = map[string]bool{"int": true, "float": true, "percent": true, "bytes": true, "num": true}

func (v *guardVisitor) capRef(n ast.Node) (string, bool) {
	if n == nil || !isCaptureRef(v.rb, v.caps, n) {
		return "", false
	}
	return n.String(), true
}

func (v *guardVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || len(x.Arguments) != 1 {
			return
		}
		name, isCap := v.capRef(x.Arguments[0])
		switch {
		case !isCap:
		case id.Value == "has":
			v.guarded[name] = true
		case convFuncs[id.Value]:
			v.converted = append(v.converted, convRef{id.Value, name})
		}
	case *ast.BuiltinNode:
		if convFuncs[x.Name] && len(x.Arguments) == 1 {
			if name, ok := v.capRef(x.Arguments[0]); ok {
				v.converted = append(v.converted, convRef{x.Name, name})
			}
		}
	case *ast.BinaryNode:
		if x.Operator != "==" && x.Operator != "!=" {
			return
		}
		for _, pair := range [][2]ast.Node{{x.Left, x.Right}, {x.Right, x.Left}} {
			if s, ok := pair[1].(*ast.StringNode); ok && s.Value == "" {
				if name, ok := v.capRef(pair[0]); ok {
					v.emptyCmp = append(v.emptyCmp, name)
				}
			}
			if _, ok := pair[1].(*ast.NilNode); ok {
				if name, ok := v.capRef(pair[0]); ok {
					v.guarded[name] = true // x != nil is a guard too
				}
			}
		}
	}
}

type compiled struct {
	p   *Program
	err error
}

// compile caches compiled expressions by source and env shape: the same
// condition appears on many steps, and expr.Compile dominates lint time.
func (l *linter) compile(src string, env Env) (*Program, error) {
	var key strings.Builder
	key.WriteString(src)
	for _, k := range SortedKeys(env) {
		fmt.Fprintf(&key, "\x00%s:%T", k, env[k])
	}
	if in, ok := env["input"].(map[string]any); ok {
		for _, k := range SortedKeys(in) {
			key.WriteString("\x00input." + k)
		}
	}
	if c, ok := l.cache[key.String()]; ok {
		return c.p, c.err
	}
	p, err := CompileExpr(src, env)
	if l.cache == nil {
		l.cache = map[string]compiled{}
	}
	l.cache[key.String()] = compiled{p, err}
	return p, err
}

var exprPosRE = regexp.MustCompile(`^(.*) \(1:(\d+)\)$`)

// exprErrPos moves an expr error's "(1:COL)" into the file position when the
// expression sits on one line of the source, so the column is exact.
func (l *linter) exprErrPos(p Pos, src, msg string) (Pos, string) {
	m := exprPosRE.FindStringSubmatch(msg)
	if m == nil || strings.ContainsAny(src, "\n\\") || p.Line < 1 {
		return p, msg
	}
	col, _ := strconv.Atoi(m[2])
	lines := bytes.Split(l.rb.Raw, []byte("\n"))
	if p.Line > len(lines) || p.Col < 1 || p.Col > len(lines[p.Line-1]) {
		return p, msg
	}
	line := lines[p.Line-1][p.Col-1:]
	off := 0
	if len(line) > 0 && (line[0] == '"' || line[0] == '\'') {
		off = 1
	}
	if !bytes.HasPrefix(line[off:], []byte(src)) {
		return p, msg // written in a form we cannot map (escapes, folding)
	}
	p.Col += off + col - 1
	return p, m[1]
}

func (l *linter) template(st *Step, src string, p Pos, what string) {
	env := l.baseEnv(st)
	t, err := parseTemplate(src, func(code string) (*Program, error) { return l.compile(code, env) })
	if err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			p = l.offsetPos(p, src, te.Offset)
		}
		l.errf(p, exprHint(err), "%s: %v", what, err)
		return
	}
	for _, part := range t.parts {
		if part.expr != nil {
			l.refs(part.expr, l.offsetPos(p, src, part.off), env, what)
		}
	}
	l.optionPositions(st, t, p, what)
}

func exprHint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unknown name"):
		return "names: exit, stdout, stderr, duration, this step's captures, params, answers, steps, targets, input, results, now(), visits(step); see docs/language.md"
	case strings.Contains(msg, "float64 is not callable"):
		return "in a run step's branches and until, duration is the step's run time in seconds, not the duration() helper: parse text with parseDuration(\"10m\")"
	case strings.Contains(msg, "mismatched types"), strings.Contains(msg, "invalid operation"):
		return `captures are strings: convert with int(x), float(x), percent(x) or bytes(x)`
	}
	return ""
}

// refs checks constant keys into the session maps: params.x, steps["id"],
// steps["id"].capture, input.x, targets.x. expr cannot check map keys itself.
func (l *linter) refs(prog *Program, p Pos, env Env, what string) {
	v := &keyVisitor{}
	node := prog.p.Node()
	ast.Walk(&node, v)
	l.visitsRefs(node, p, what)
	for _, r := range v.refs {
		root, _ := env[r.root].(map[string]any)
		if root == nil {
			continue
		}
		inner, ok := root[r.key]
		if !ok {
			switch r.root {
			case "steps":
				l.errf(p, l.stepHint(r.key), "%s: steps[%q]: no such step", what, r.key)
			case "params":
				l.errf(p, "declare it under `params:`", "%s: unknown param %q", what, r.key)
			case "input":
				l.errf(p, "declare it under the fix's `input:`", "%s: unknown input %q", what, r.key)
			case "targets":
				l.errf(p, "declare it under `targets:`", "%s: unknown target %q", what, r.key)
			}
			continue
		}
		if r.sub == "" {
			continue
		}
		if m, ok := inner.(map[string]any); ok {
			if _, ok := m[r.sub]; !ok {
				l.errf(p, "capture it in that step with `capture:`", "%s: %s[%q] has no value %q", what, r.root, r.key, r.sub)
			}
		}
	}
}

type keyRef struct{ root, key, sub string }

type keyVisitor struct{ refs []keyRef }

func (v *keyVisitor) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch inner := m.Node.(type) {
	case *ast.IdentifierNode:
		v.refs = append(v.refs, keyRef{root: inner.Value, key: prop.Value})
	case *ast.MemberNode:
		id, ok1 := inner.Node.(*ast.IdentifierNode)
		key, ok2 := inner.Property.(*ast.StringNode)
		if ok1 && ok2 {
			v.refs = append(v.refs, keyRef{root: id.Value, key: key.Value, sub: prop.Value})
		}
	}
}
