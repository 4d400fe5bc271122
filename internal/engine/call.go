package engine

// call: a shared sub-procedure in another file, with params, returning to
// the caller. The loader inlines the callee's steps under the call step's id
// ("recheck/smart"), so history, the journal, resume, coverage and the graph
// see ordinary steps; each inlined step carries a Frame that tells the
// session which params, targets and steps its expressions see (the
// callee's own, never the caller's). `end: return` in the callee goes on at
// the call step's `next`; any other end ends the whole session.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// KindCall runs another runbook file's steps, then goes on at `next`.
const KindCall StepKind = "call"

// OutcomeReturn ends a called runbook: the caller goes on at the call's
// `next`. A runbook run on its own that reaches it ends resolved.
const OutcomeReturn Outcome = "return"

// Call is a call step: which file, the values of its params and which of the
// caller's targets its roles are.
type Call struct {
	File    string
	With    []*CallArg
	Targets map[string]string // callee role -> caller role (default: the same name)
	Callee  *Runbook          // loaded and inlined
	Entry   string            // id of the callee's first step, inlined
	Return  string            // where `end: return` goes on: the call step's next
	// Branches and Else: where to go on from, decided on return over the
	// caller's values (steps["call/step"] holds what the callee found).
	Branches   []*Branch
	Else       string
	ElsePos    Pos
	Pos        Pos
	FilePos    Pos
	TargetsPos map[string]Pos
}

// CallArg is one `with:` value: a template over the caller's values.
type CallArg struct {
	Name, Value string
	Pos         Pos
}

// Frame says that a step is inlined from a call: its expressions see the
// callee's params (worked out from the call's `with:`), targets and steps.
type Frame struct {
	Call   *Step  // the call step (itself maybe inside a frame)
	Prefix string // the call step's id and "/"
	Callee *Runbook
}

// Include is a file a runbook calls, as it was read.
type Include struct {
	Path string
	Raw  []byte
}

// ReadFunc reads a called file. LoadWith takes one so that resume reads the
// callees from the journal, as they ran, instead of the file system.
type ReadFunc func(path string) ([]byte, error)

// LoadWith is Load with called files read by read (nil: the file system).
func LoadWith(name string, data []byte, read ReadFunc) (*Runbook, error) {
	rb, ds, _ := loadWith(name, data, read, nil)
	if ds.HasErrors() {
		return nil, ds.sorted()
	}
	return rb, nil
}

const (
	maxCallDepth = 8
	maxSteps     = 5000
)

var callKeys = []string{"file", "with", "targets"}

func (l *loader) call(n ast.Node) *Call {
	c := &Call{Pos: l.pos(n), Targets: map[string]string{}, TargetsPos: map[string]Pos{}}
	fields, ok := l.mapping(n, "call", callKeys)
	if !ok {
		return c
	}
	for _, f := range fields {
		switch f.key {
		case "file":
			c.File, c.FilePos = l.str(f, "file"), l.pos(f.val)
		case "with":
			ws, _ := l.mapping(f.val, "with", nil)
			for _, w := range ws {
				c.With = append(c.With, &CallArg{Name: w.key, Value: l.str(w, "with."+w.key), Pos: l.pos(w.val)})
			}
		case "targets":
			ts, _ := l.mapping(f.val, "targets", nil)
			for _, t := range ts {
				c.Targets[t.key] = l.str(t, "targets."+t.key)
				c.TargetsPos[t.key] = l.pos(t.val)
			}
		}
	}
	if c.File == "" {
		l.errf(c.Pos, "name the runbook file to call, relative to this one: `file: shared/check.yaml`", "call has no file")
	}
	return c
}

// expand loads every call's file and inlines its steps after the caller's.
func (l *loader) expand(rb *Runbook) {
	var out []*Step
	for _, st := range rb.Steps {
		if st.Kind != KindCall || st.Call == nil || st.Call.File == "" {
			continue
		}
		c := st.Call
		path := c.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(l.file), path)
		}
		for i, p := range l.stack {
			if p == path {
				chain := append(append([]string{}, l.stack[i:]...), path)
				l.errf(c.FilePos, "a called runbook must not call back into its callers", "call cycle: %s", strings.Join(chain, " → "))
				return
			}
		}
		if len(l.stack) >= maxCallDepth {
			l.errf(c.FilePos, "flatten the calls", "calls nested more than %d deep", maxCallDepth)
			return
		}
		data, err := l.read(path)
		if err != nil {
			l.errf(c.FilePos, "the path is relative to this runbook's file", "call %s: %v", c.File, err)
			continue
		}
		callee, ds, info := loadWith(path, data, l.read, l.stack)
		if callee != nil {
			ds = append(ds, lint(callee, info)...)
		}
		for _, d := range ds { // positions in the callee's file; once when it is called twice
			if !containsDiag(l.ds, d) {
				l.ds = append(l.ds, d)
			}
		}
		if callee == nil || ds.HasErrors() || len(callee.Steps) == 0 {
			l.info.stepsDamaged = true
			continue
		}
		c.Callee, c.Return = callee, st.Next
		c.Branches, c.Else, c.ElsePos = st.Branches, st.Else, st.ElsePos
		prefix := st.ID + "/"
		c.Entry = prefix + callee.Steps[0].ID
		st.Next, st.Branches, st.Else = c.Entry, nil, ""
		copies := map[*Step]*Step{}
		for _, cs := range callee.Steps {
			n := *cs
			copies[cs] = &n
		}
		re := func(r *string) {
			if *r != "" {
				*r = prefix + *r
			}
		}
		role := func(r *string) {
			if m, ok := c.Targets[*r]; ok {
				*r = m
			}
		}
		for _, cs := range callee.Steps {
			n := copies[cs]
			n.ID = prefix + cs.ID
			if cs.Frame == nil {
				n.Frame = &Frame{Call: st, Prefix: prefix, Callee: callee}
			} else {
				n.Frame = &Frame{Call: copies[cs.Frame.Call], Prefix: prefix + cs.Frame.Prefix, Callee: cs.Frame.Callee}
			}
			n.Branches = make([]*Branch, len(cs.Branches))
			for i, b := range cs.Branches {
				nb := *b
				re(&nb.Goto)
				n.Branches[i] = &nb
			}
			n.Choices = make([]*Choice, len(cs.Choices))
			for i, ch := range cs.Choices {
				nc := *ch
				re(&nc.Goto)
				n.Choices[i] = &nc
			}
			re(&n.Else)
			re(&n.OnError)
			if cs.Kind == KindEnd && cs.End == OutcomeReturn && cs.Frame == nil {
				n.Next, n.NextPos = c.Return, st.NextPos
				n.Branches = append([]*Branch(nil), c.Branches...)
				n.Else, n.ElsePos = c.Else, c.ElsePos
			} else {
				re(&n.Next)
			}
			if cs.Call != nil {
				nc := *cs.Call
				re(&nc.Return)
				re(&nc.Entry)
				re(&nc.Else)
				nc.Branches = make([]*Branch, len(cs.Call.Branches))
				for i, b := range cs.Call.Branches {
					nb := *b
					re(&nb.Goto)
					nc.Branches[i] = &nb
				}
				n.Call = &nc
			}
			// The callee's roles are the caller's: rewrite where commands run.
			for _, cmd := range []**Command{&n.Run, &n.Fix} {
				if *cmd != nil {
					x := **cmd
					role(&x.On)
					*cmd = &x
				}
			}
			if n.Wait != nil {
				w := *n.Wait
				if w.Run != nil {
					x := *w.Run
					role(&x.On)
					w.Run = &x
				}
				n.Wait = &w
			}
			if len(n.Collect) > 0 {
				n.Collect = make([]*CollectItem, len(cs.Collect))
				for i, it := range cs.Collect {
					x := *it
					role(&x.On)
					n.Collect[i] = &x
				}
			}
			out = append(out, n)
		}
		for _, r := range callee.Redact { // the bundle redacts what the callee's rules name
			dup := false
			for _, x := range rb.Redact {
				dup = dup || x.Pattern == r.Pattern
			}
			if !dup {
				rb.Redact = append(rb.Redact, r)
			}
		}
		for _, inc := range append(callee.Includes, Include{Path: path, Raw: data}) {
			if !hasInclude(rb.Includes, inc.Path) {
				rb.Includes = append(rb.Includes, inc)
			}
		}
	}
	rb.Steps = append(rb.Steps, out...)
	if len(rb.Steps) > maxSteps {
		l.errf(rb.Pos, "call fewer or smaller runbooks", "the runbook has %d steps with its calls inlined (at most %d)", len(rb.Steps), maxSteps)
	}
}

func containsDiag(ds Diagnostics, d Diagnostic) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func hasInclude(incs []Include, path string) bool {
	for _, i := range incs {
		if i.Path == path {
			return true
		}
	}
	return false
}

// maxCalledFile bounds a called file: a runbook, not a device or a log.
const maxCalledFile = 4 << 20

// readFile reads a called file from the file system: a regular file of at
// most maxCalledFile bytes (a call of /dev/zero must not hang lint).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxCalledFile {
		return nil, fmt.Errorf("%s is %d bytes: a called runbook is at most %d", path, fi.Size(), maxCalledFile)
	}
	return io.ReadAll(io.LimitReader(f, maxCalledFile+1))
}

// --- the session

// enterCall checks the call's params (a bad value stops at the call step,
// naming it) and moves to the callee's first step. A for_each call runs the
// callee once per item, in order (see returnFrom).
func (s *Session) enterCall(st *Step) error {
	c := st.Call
	explain := "call " + c.Callee.Title + " (" + c.File + ")"
	var item any
	if st.ForEach != "" {
		items, err := s.callItems(st)
		if err != nil {
			return s.fail(st, err)
		}
		if len(items) == 0 {
			// Nothing to do: go on as after the last return.
			after := *st
			after.Branches, after.Else, after.Next = c.Branches, c.Else, c.Return
			return s.decide(&after, s.env(st))
		}
		item = items[0]
		explain += " for " + s.itemLabel(st, items, 0)
	}
	if _, err := s.callParams(st, item); err != nil {
		return s.fail(st, fmt.Errorf("call %s: %w", c.File, err))
	}
	s.route(st, &Decision{Next: c.Entry, Expr: "next", By: "auto", Explain: explain + " → " + s.label(c.Entry)})
	return nil
}

// returnFrom goes on after the call: with the next item of a for_each
// call, else its branches (decided over the caller's values) or its next.
// On its own, a called runbook's return ends it resolved.
func (s *Session) returnFrom(st *Step) error {
	if f := st.Frame; f != nil && f.Call.ForEach != "" {
		items, err := s.callItems(f.Call)
		if err != nil {
			return s.fail(st, err)
		}
		if i := s.callIter(f.Call) + 1; i < len(items) {
			if _, err := s.callParams(f.Call, items[i]); err != nil {
				return s.fail(st, fmt.Errorf("call %s: %s: %w", f.Call.Call.File, s.itemLabel(f.Call, items, i), err))
			}
			s.route(st, &Decision{Next: f.Call.Call.Entry, Expr: "next", By: "auto",
				Explain: "return; next " + s.itemLabel(f.Call, items, i) + " → " + s.label(f.Call.Call.Entry)})
			return nil
		}
	}
	switch {
	case st.Frame != nil && (len(st.Branches) > 0 || st.Else != ""):
		return s.decide(st, s.env(st.Frame.Call))
	case st.Frame != nil && st.Next != "":
		s.route(st, &Decision{Next: st.Next, Expr: "next", By: "auto", Explain: "return → " + s.label(st.Next)})
		return nil
	}
	s.finish(OutcomeResolved, s.showText(st, st.Message))
	return nil
}

// callItems are a for_each call's items, over the caller's values.
func (s *Session) callItems(call *Step) ([]any, error) {
	v, err := s.evalIn(call, call.ForEach)
	if err != nil {
		return nil, fmt.Errorf("step %s: for_each: %w", call.ID, err)
	}
	items, ok := listItems(v)
	if !ok {
		return nil, fmt.Errorf("step %s: for_each %q gave %T, want a list", call.ID, call.ForEach, v)
	}
	if len(items) > s.opts.MaxVisits {
		return nil, fmt.Errorf("step %s: for_each gave %d items: a call runs at most %d times (Options.MaxVisits)", call.ID, len(items), s.opts.MaxVisits)
	}
	return items, nil
}

// callIter is the item a for_each call is at: how often it returned since
// its call step was last entered (the visit in progress left out). It is
// worked out from the history, so a resumed session knows it too.
func (s *Session) callIter(call *Step) int {
	n := 0
	for i := len(s.st.history) - 1; i >= 0; i-- {
		v := s.st.history[i]
		if v.Step == call.ID {
			break
		}
		// The visit in progress is left out; a return's visit that its
		// decision ended counts (the next step's entry asks, emitted
		// before the fold opens that step's visit), unless step mode
		// still shows that decision.
		if v == s.st.visit && (v.Ended.IsZero() || s.current().ID == v.Step) {
			continue
		}
		if x := s.rb.Step(v.Step); x != nil && x.Kind == KindEnd && x.End == OutcomeReturn && x.Frame != nil && x.Frame.Call == call {
			n++
		}
	}
	return n
}

// itemLabel is "slot 2 of 3: 7".
func (s *Session) itemLabel(call *Step, items []any, i int) string {
	return fmt.Sprintf("%s %d of %d: %s", call.ItemName(), i+1, len(items), s.mask(toString(items[i])))
}

// ItemLabel says which item of a for_each call step st belongs to ("slot 2
// of 3: 7"), or "". Drivers show it with the step's title; the step's
// entry event carries it to the journal.
func (s *Session) ItemLabel(st *Step) string {
	for f := st.Frame; f != nil; f = f.Call.Frame {
		if f.Call.ForEach == "" {
			continue
		}
		items, err := s.callItems(f.Call)
		if err != nil {
			return ""
		}
		if i := s.callIter(f.Call); i < len(items) {
			return s.itemLabel(f.Call, items, i)
		}
	}
	return ""
}

// callParams are the callee's params at call step st: its `with:` values
// filled in with the caller's values (and the for_each item), then the
// callee's defaults, typed.
func (s *Session) callParams(st *Step, item any) (map[string]any, error) {
	c := st.Call
	env := s.env(st)
	if st.ForEach != "" {
		env[st.ItemName()] = item
	}
	given := map[string]string{}
	for _, a := range c.With {
		t, err := ParseTemplate(a.Value, env)
		if err != nil {
			return nil, fmt.Errorf("with %s: %w", a.Name, err)
		}
		v, err := t.RenderRaw(env)
		if err != nil {
			return nil, fmt.Errorf("with %s: %w", a.Name, err)
		}
		given[a.Name] = v
	}
	p, secrets, err := ResolveParams(c.Callee, given, s.calleeTargets(st))
	for _, sec := range secrets { // the callee's own secret params are masked like the caller's
		if !contains(s.secrets, sec) {
			s.secrets = append(s.secrets, sec)
		}
	}
	return p, err
}

// calleeTargets are the caller's hosts under the callee's role names.
func (s *Session) calleeTargets(st *Step) map[string][]Host {
	out := map[string][]Host{}
	for _, t := range st.Call.Callee.Targets {
		r := t.Name
		if m, ok := st.Call.Targets[r]; ok {
			r = m
		}
		out[t.Name] = s.hosts(r)
	}
	return out
}

// frameEnv is what a step inlined from a call sees: the callee's params,
// targets, steps and visits under the callee's own names.
func (s *Session) frameEnv(st *Step) Env {
	f := st.Frame
	var item any
	if f.Call.ForEach != "" {
		if items, err := s.callItems(f.Call); err == nil {
			if i := s.callIter(f.Call); i < len(items) {
				item = items[i]
			}
		}
	}
	params, err := s.callParams(f.Call, item)
	if err != nil {
		params = map[string]any{} // enterCall stopped on it; a later change of a caller's value shows as unknown params
	}
	steps := make(map[string]any, len(f.Callee.Steps))
	for _, x := range f.Callee.Steps { // its own, and those of its calls (inner/check)
		if m, ok := s.steps[f.Prefix+x.ID]; ok {
			steps[x.ID] = m
		} else {
			steps[x.ID] = map[string]any{}
		}
	}
	answers := map[string]any{}
	for k, v := range s.st.answers {
		if strings.HasPrefix(k, f.Prefix) {
			answers[k[len(f.Prefix):]] = v
		}
	}
	return Env{
		"params":  params,
		"answers": answers,
		"steps":   steps,
		"targets": targetsEnv(f.Callee, s.calleeTargets(f.Call)),
		"input":   s.inputs,
		"now":     s.opts.Clock.Now,
		"visits": func(idOrRef string) int {
			if x := f.Callee.Step(idOrRef); x != nil {
				return s.st.visits[f.Prefix+x.ID]
			}
			return 0
		},
	}
}

// --- lint

// callChecks: the callee's params and roles against the call's with and targets.
func (l *linter) callChecks(st *Step) {
	c := st.Call
	if c == nil || c.Callee == nil {
		return
	}
	switch {
	case c.Return == "" && len(c.Branches) == 0 && c.Else == "":
		l.errf(st.Pos, "add `next: STEP` (or `branches` with `else`): where the caller goes on when the called runbook returns", "call step %q has no route out", st.ID)
	case len(c.Branches) > 0 && c.Else == "" && c.Return == "":
		l.errf(st.Pos, "add `else: STEP` for when no branch holds", "step %q has branches but no else", st.ID)
	case c.Else != "" && c.Return != "":
		l.errf(st.NextPos, "use else with branches, next without", "step %q has both else and next", st.ID)
	}
	env := l.baseEnv(st)
	for _, b := range c.Branches {
		l.expr(st, b.If, b.IfPos, env, "if")
	}
	returns := false
	for _, cs := range c.Callee.Steps {
		returns = returns || (cs.Kind == KindEnd && cs.End == OutcomeReturn && cs.Frame == nil)
	}
	if !returns {
		l.warnf(c.FilePos, "add `end: return` to "+c.File+" where the caller should go on", "call %s: the called runbook never returns, so this step's routes are never taken", c.File)
	}
	var cenv Env
	if st.ForEach != "" {
		var ok bool
		if cenv, ok = l.forEachEnv(st); !ok {
			return
		}
	}
	given := map[string]bool{}
	for _, a := range c.With {
		given[a.Name] = true
		if c.Callee.Param(a.Name) == nil {
			var names []string
			for _, p := range c.Callee.Params {
				names = append(names, p.Name)
			}
			hint := c.File + " declares: " + strings.Join(names, ", ")
			if m := closest(a.Name, names); m != "" {
				hint = fmt.Sprintf("did you mean %q?", m)
			}
			l.errf(a.Pos, hint, "call %s: it has no param %q", c.File, a.Name)
			continue
		}
		if cenv != nil {
			l.templateIn(cenv, a.Value, a.Pos, "with "+a.Name)
			continue
		}
		l.template(st, a.Value, a.Pos, "with "+a.Name)
	}
	for _, p := range c.Callee.Params {
		if !given[p.Name] && !p.HasDefault {
			l.errf(c.Pos, fmt.Sprintf("add `with: {%s: VALUE}`", p.Name), "call %s: param %q has no default and the call does not give it (%s)", c.File, p.Name, p.Pos.String())
		}
	}
	roles := map[string]bool{}
	for _, t := range c.Callee.Targets {
		roles[t.Name] = true
		r, p := t.Name, c.Pos
		if m, ok := c.Targets[r]; ok {
			r, p = m, c.TargetsPos[t.Name]
		}
		if l.rb.Target(r) == nil {
			l.errf(p, fmt.Sprintf("map it: `targets: {%s: ROLE}`, a role of this runbook", t.Name), "call %s: its target %q is no target of this runbook", c.File, r)
		}
	}
	var keys []string
	for k := range c.Targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !roles[k] {
			l.errf(c.TargetsPos[k], "the keys are the called runbook's roles", "call %s: it has no target %q", c.File, k)
		}
	}
}

// String is "file:line:col" (or "line:col").
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}
