package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// LoadFile reads and loads a runbook file. See Load.
func LoadFile(path string) (*Runbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load runbook: %w", err)
	}
	return Load(path, data)
}

// Load parses a runbook. Structural problems (bad YAML, unknown keys, wrong
// types, missing required keys, duplicate ids) are returned together as
// Diagnostics, each with file:line:col. Graph and expression checks live in
// Lint. Load never returns a runbook that has structural errors.
func Load(name string, data []byte) (*Runbook, error) {
	rb, ds, _ := load(name, data)
	if ds.HasErrors() {
		return nil, ds.sorted()
	}
	return rb, nil
}

// Check loads leniently and lints what it can, so that one pass reports
// every problem: a misspelt key and a dangling goto come back together.
// Parts that fail to load are skipped; graph findings that would only echo a
// structural error (a step unreachable because the branch that led to it was
// misspelt) are left out. The runbook is returned only when there are no
// errors (warnings allowed), so callers cannot walk a half-loaded one.
func Check(name string, data []byte) (*Runbook, Diagnostics) {
	rb, ds, info := load(name, data)
	if rb == nil {
		return nil, ds.sorted()
	}
	ds = append(ds, lint(rb, info)...)
	ds = ds.sorted()
	if ds.HasErrors() {
		return nil, ds
	}
	return rb, ds
}

// CheckFile reads a file and checks it. See Check.
func CheckFile(path string) (*Runbook, Diagnostics) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{Pos: Pos{File: path, Line: 1, Col: 1}, Severity: SevError, Message: "cannot read runbook: " + err.Error()}}
	}
	return Check(path, data)
}

// loadInfo tells lint which parts of a leniently loaded runbook are damaged.
type loadInfo struct {
	damaged      map[*Step]bool // steps with structural errors of their own
	stepsDamaged bool           // the step list lost entries or routes
}

// load parses as much as it can. rb is nil only when there is nothing to
// lint (YAML syntax error, empty document).
func load(name string, data []byte) (*Runbook, Diagnostics, *loadInfo) {
	return loadWith(name, data, nil, nil)
}

// loadWith is load with called files read by read; stack holds the files
// calling this one (call.go).
func loadWith(name string, data []byte, read ReadFunc, stack []string) (*Runbook, Diagnostics, *loadInfo) {
	if read == nil {
		read = readFile
	}
	l := &loader{file: name, info: &loadInfo{damaged: map[*Step]bool{}}, read: read, stack: append(stack[:len(stack):len(stack)], name)}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		col := 1 + i - (bytes.LastIndexByte(data[:i], '\n') + 1)
		return nil, Diagnostics{{Pos: Pos{File: name, Line: line, Col: col}, Severity: SevError,
			Message: "runbook contains a NUL byte", Hint: "runbooks are UTF-8 text"}}, l.info
	}
	f, err := parseYAML(data)
	if err != nil {
		return nil, Diagnostics{l.syntaxDiag(err)}, l.info
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, Diagnostics{{Pos: Pos{File: name, Line: 1, Col: 1}, Severity: SevError,
			Message: "empty runbook", Hint: "start with `runbook: 1`, an id, a title and steps"}}, l.info
	}
	if len(f.Docs) > 1 && f.Docs[1].Body != nil {
		l.errf(l.pos(f.Docs[1].Body), "keep one runbook per file", "more than one YAML document")
	}
	rb := l.runbook(l.resolveAliases(f.Docs[0].Body))
	normalizeRoutes(rb)
	l.expand(rb)
	rb.File = name
	rb.Raw = data
	sum := sha256.Sum256(data)
	rb.SHA256 = hex.EncodeToString(sum[:])
	return rb, l.ds, l.info
}

// parseYAML wraps the parser: it has panicked on odd input before, and a
// runbook file must never crash the tool.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

type loader struct {
	file   string
	read   ReadFunc // called files (call.go)
	stack  []string // this file and the files calling it
	info   *loadInfo
	inStep bool // loading a step: dropped parts may have been routes
	// suggested collects the keys offered as "did you mean", so a missing
	// required key that was merely misspelt is reported once, not twice.
	suggested []string
	diagList
}

func (l *loader) syntaxDiag(err error) Diagnostic {
	var se *yaml.SyntaxError
	d := Diagnostic{Pos: Pos{File: l.file, Line: 1, Col: 1}, Severity: SevError, Message: "invalid YAML: " + err.Error(),
		Hint: "check indentation and quoting; quote strings containing ': ' or starting with '{', '[', '*', '&'"}
	if errors.As(err, &se) {
		d.Message = "invalid YAML: " + se.Message
		if se.Token != nil {
			d.Pos = Pos{File: l.file, Line: se.Token.Position.Line, Col: se.Token.Position.Column}
		}
	}
	return d
}

func (l *loader) pos(n ast.Node) Pos {
	// A block mapping's own token is the first key's ':'; people look for
	// the first key. Flow mappings keep their '{'.
	switch m := n.(type) {
	case *ast.MappingNode:
		if !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0].Key != nil {
			return l.pos(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if m.Key != nil {
			return l.pos(m.Key)
		}
	}
	if n == nil || n.GetToken() == nil {
		return Pos{File: l.file, Line: 1, Col: 1}
	}
	p := n.GetToken().Position
	return Pos{File: l.file, Line: p.Line, Col: p.Column}
}

// field is one key: value pair of a mapping, with positions.
type field struct {
	key    string
	keyPos Pos
	val    ast.Node
}

// unwrap strips anchors and tags.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// mapping returns the pairs of a mapping node in order, reporting duplicate
// keys and keys not in allowed (when allowed is non-nil).
func (l *loader) mapping(n ast.Node, what string, allowed []string) ([]field, bool) {
	n = unwrap(n)
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	case *ast.NullNode, nil:
		return nil, true
	default:
		l.errf(l.pos(n), "", "%s must be a mapping, got %s", what, describe(n))
		l.lossy()
		return nil, false
	}
	values = l.mergeFields(values)
	seen := map[string]bool{}
	out := make([]field, 0, len(values))
	for _, mv := range values {
		key := scalarString(mv.Key)
		kp := l.pos(mv.Key)
		if seen[key] {
			l.errf(kp, "remove one of them", "duplicate key %q in %s", key, what)
			l.lossy()
			continue
		}
		seen[key] = true
		if allowed != nil && !contains(allowed, key) && !(what == "the runbook" && strings.HasPrefix(key, "x-")) {
			hint := "allowed keys: " + strings.Join(allowed, ", ")
			if s := closest(key, allowed); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
				l.suggested = append(l.suggested, s)
			}
			l.errf(kp, hint, "unknown key %q in %s", key, what)
			l.lossy()
			continue
		}
		out = append(out, field{key: key, keyPos: kp, val: mv.Value})
	}
	return out, true
}

func describe(n ast.Node) string {
	switch unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "nothing"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.IntegerNode, *ast.FloatNode:
		return "a number"
	default:
		return "a string"
	}
}

func isScalar(n ast.Node) bool {
	switch unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, nil:
		return false
	}
	return true
}

func scalarString(n ast.Node) string {
	switch v := unwrap(n).(type) {
	case nil:
		return ""
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.NullNode:
		return ""
	case *ast.MappingKeyNode:
		return scalarString(v.Value)
	default:
		if tk := n.GetToken(); tk != nil {
			return tk.Value
		}
		return ""
	}
}

func (l *loader) str(f field, what string) string {
	if !isScalar(f.val) {
		l.errf(l.pos(f.val), "", "%s must be a string, got %s", what, describe(f.val))
		l.lossy()
		return ""
	}
	v := scalarString(f.val)
	if strings.ContainsRune(v, 0) {
		l.errf(l.pos(f.val), "remove the \\0 escape", "%s contains a NUL character", what)
		return strings.ReplaceAll(v, "\x00", "")
	}
	return v
}

// lossy notes that part of the step being loaded was dropped, so graph
// findings about what it might have routed to are not trustworthy.
func (l *loader) lossy() {
	if l.inStep {
		l.info.stepsDamaged = true
	}
}

func (l *loader) boolean(f field, what string) bool {
	s := l.str(f, what)
	switch s {
	case "true":
		return true
	case "false", "":
		return false
	}
	l.errf(l.pos(f.val), "use true or false", "%s must be a boolean, got %q", what, s)
	return false
}

func (l *loader) integer(f field, what string) int64 {
	s := l.str(f, what)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		l.errf(l.pos(f.val), "", "%s must be an integer, got %q", what, s)
	}
	return v
}

func (l *loader) duration(f field, what string) time.Duration {
	s := l.str(f, what)
	d, err := ParseDuration(s)
	if err != nil {
		l.errf(l.pos(f.val), "use a duration such as 30s, 10m or 1h30m", "%s: %v", what, err)
	}
	return d
}

func (l *loader) size(f field, what string) int64 {
	s := l.str(f, what)
	n, err := ParseSize(s)
	if err != nil {
		l.errf(l.pos(f.val), "use a size such as 512KiB, 50MiB or 1G", "%s: %v", what, err)
	}
	return n
}

// strList accepts a string or a list of strings.
func (l *loader) strList(f field, what string) []string {
	if seq, ok := unwrap(f.val).(*ast.SequenceNode); ok {
		out := make([]string, 0, len(seq.Values))
		for _, v := range seq.Values {
			if !isScalar(v) {
				l.errf(l.pos(v), "", "each entry of %s must be a string, got %s", what, describe(v))
				continue
			}
			out = append(out, scalarString(v))
		}
		return out
	}
	return []string{l.str(f, what)}
}

func (l *loader) sequence(n ast.Node, what string) []ast.Node {
	switch v := unwrap(n).(type) {
	case *ast.SequenceNode:
		return v.Values
	case *ast.NullNode, nil:
		return nil
	default:
		l.errf(l.pos(n), "", "%s must be a list, got %s", what, describe(n))
		l.lossy()
		return nil
	}
}

var (
	kebabRE   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	stepIDRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	topKeys   = []string{"runbook", "id", "title", "source", "description", "targets", "params", "steps", "redact", "alert"}
	stepKinds = []string{"run", "ask", "manual", "fix", "wait", "collect", "call", "end"}
	stepKeys  = append([]string{"id", "ref", "title", "doc", "capture", "branches", "else", "next", "choices", "auto", "message", "on_error", "for_each", "as", "per_host", "rollout"}, stepKinds...)

	targetKeys  = []string{"description", "group"}
	paramKeys   = []string{"type", "description", "prompt", "default", "pattern", "min", "max", "under", "values", "secret"}
	redactKeys  = []string{"name", "pattern"}
	runKeys     = []string{"on", "cmd", "timeout", "sudo", "example"}
	fixKeys     = append(append([]string{}, runKeys...), "destructive", "input")
	waitKeys    = []string{"at", "for", "every", "timeout", "run", "until"}
	collectKeys = []string{"on", "files", "since", "max_bytes", "cmd", "sudo", "timeout"}
	captureKeys = []string{"pattern", "all", "table", "json"}
	tableKeys   = []string{"sep", "columns", "header", "start"}
	branchKeys  = []string{"if", "goto"}
)

// FormatKeys lists the keys the loader accepts in each part of a runbook,
// so that the JSON Schema and the language reference can be checked
// against it.
func FormatKeys() map[string][]string {
	return map[string][]string{
		"runbook": topKeys, "target": targetKeys, "param": paramKeys, "redact": redactKeys,
		"step": stepKeys, "run": runKeys, "fix": fixKeys, "wait": waitKeys, "collect": collectKeys,
		"capture": captureKeys, "table": tableKeys, "branch": branchKeys, "call": callKeys, "alert": alertKeys,
		"per_host": perHostKeys, "rollout": rolloutKeys,
	}
}

func (l *loader) runbook(root ast.Node) *Runbook {
	rb := &Runbook{Pos: l.pos(root)}
	l.suggested = nil
	fields, ok := l.mapping(root, "the runbook", topKeys)
	if !ok {
		return rb
	}
	misspelt := l.suggested // top-level keys only: nested mappings come later
	have := map[string]field{}
	for _, f := range fields {
		have[f.key] = f
		switch f.key {
		case "runbook":
			v := l.integer(f, "runbook (the format version)")
			if v != FormatVersion {
				l.errf(l.pos(f.val), "this engine reads `runbook: 1`", "unsupported format version %d", v)
			}
			rb.Version = int(v)
		case "id":
			rb.ID = l.str(f, "id")
			if rb.ID != "" && !kebabRE.MatchString(rb.ID) {
				l.errf(l.pos(f.val), "use lowercase letters, digits and dashes, e.g. mrs-alm-45641", "id %q is not kebab-case", rb.ID)
			}
		case "title":
			rb.Title = l.str(f, "title")
		case "source":
			rb.Source = l.str(f, "source")
		case "description":
			rb.Description = l.str(f, "description")
		case "targets":
			rb.Targets = l.targets(f.val)
		case "params":
			rb.Params = l.params(f.val, "params")
		case "steps":
			rb.Steps = l.steps(f.val)
		case "redact":
			rb.Redact = l.redact(f.val)
		case "alert":
			rb.Alert = l.alert(f.val)
		}
	}
	for _, k := range []string{"runbook", "id", "title", "steps"} {
		if _, ok := have[k]; !ok && !contains(misspelt, k) {
			l.errf(rb.Pos, "", "missing required key %q", k)
		}
	}
	if f, ok := have["steps"]; ok && len(rb.Steps) == 0 && len(l.ds) == 0 {
		l.errf(l.pos(f.val), "", "a runbook needs at least one step")
	}
	return rb
}

func (l *loader) targets(n ast.Node) []*Target {
	fields, _ := l.mapping(n, "targets", nil)
	var out []*Target
	for _, f := range fields {
		t := &Target{Name: f.key, Pos: f.keyPos}
		if !nameRE.MatchString(f.key) {
			l.errf(f.keyPos, "use letters, digits and underscores", "target name %q is not a valid identifier", f.key)
		}
		tf, _ := l.mapping(f.val, "target "+f.key, targetKeys)
		for _, g := range tf {
			switch g.key {
			case "description":
				t.Description = l.str(g, "description")
			case "group":
				t.Group = l.boolean(g, "group")
			}
		}
		out = append(out, t)
	}
	return out
}

var paramTypes = []string{ParamString, ParamInt, ParamIP, ParamHost, ParamPath, ParamEnum, ParamDuration, ParamTime}

func (l *loader) params(n ast.Node, what string) []*Param {
	fields, _ := l.mapping(n, what, nil)
	var out []*Param
	for _, f := range fields {
		p := &Param{Name: f.key, Type: ParamString, Pos: f.keyPos}
		if !nameRE.MatchString(f.key) {
			l.errf(f.keyPos, "use letters, digits and underscores", "param name %q is not a valid identifier", f.key)
		}
		pf, _ := l.mapping(f.val, "param "+f.key, paramKeys)
		for _, g := range pf {
			switch g.key {
			case "type":
				p.Type = l.str(g, "type")
				if !contains(paramTypes, p.Type) {
					l.errf(l.pos(g.val), "types: "+strings.Join(paramTypes, ", "), "unknown param type %q", p.Type)
				}
			case "description":
				p.Description = l.str(g, "description")
			case "prompt":
				p.Prompt = l.str(g, "prompt")
			case "default":
				p.Default, p.HasDefault, p.DefaultPos = l.str(g, "default"), true, l.pos(g.val)
			case "pattern":
				p.Pattern = l.str(g, "pattern")
				if _, err := regexp.Compile(p.Pattern); err != nil {
					l.errf(l.pos(g.val), "Go RE2 syntax", "invalid pattern: %v", err)
				}
			case "min":
				v := l.integer(g, "min")
				p.Min = &v
			case "max":
				v := l.integer(g, "max")
				p.Max = &v
			case "under":
				p.Under = l.str(g, "under")
				if !strings.HasPrefix(p.Under, "/") {
					l.errf(l.pos(g.val), "", "under must be an absolute path, got %q", p.Under)
				}
			case "values":
				p.Values = l.strList(g, "values")
			case "secret":
				p.Secret = l.boolean(g, "secret")
			}
		}
		if p.Type == ParamEnum && len(p.Values) == 0 {
			l.errf(f.keyPos, "list the allowed values: `values: [a, b]`", "enum param %q has no values", p.Name)
		}
		if p.Type == ParamPath && p.Under == "" {
			// allowed: any absolute path
		}
		out = append(out, p)
	}
	return out
}

func (l *loader) redact(n ast.Node) []*RedactRule {
	var out []*RedactRule
	for _, item := range l.sequence(n, "redact") {
		r := &RedactRule{Pos: l.pos(item)}
		fs, _ := l.mapping(item, "redact rule", redactKeys)
		for _, f := range fs {
			switch f.key {
			case "name":
				r.Name = l.str(f, "name")
			case "pattern":
				r.Pattern = l.str(f, "pattern")
				if _, err := regexp.Compile(r.Pattern); err != nil {
					l.errf(l.pos(f.val), "Go RE2 syntax", "invalid redact pattern: %v", err)
				}
			}
		}
		if r.Pattern == "" {
			l.errf(r.Pos, "", "redact rule needs a pattern")
		}
		out = append(out, r)
	}
	return out
}

func (l *loader) steps(n ast.Node) []*Step {
	var out []*Step
	ids := map[string]Pos{}
	refs := map[string]Pos{}
	for _, item := range l.sequence(n, "steps") {
		before := len(l.ds)
		l.inStep = true
		s := l.step(item)
		l.inStep = false
		if s == nil {
			l.info.stepsDamaged = true
			continue
		}
		if len(l.ds) > before {
			l.info.damaged[s] = true
		}
		if s.ID != "" {
			if p, dup := ids[s.ID]; dup {
				l.errf(s.IDPos, "step ids must be unique", "duplicate step id %q (first defined at line %d)", s.ID, p.Line)
			} else {
				ids[s.ID] = s.IDPos
			}
		}
		if s.Ref != "" {
			if p, dup := refs[s.Ref]; dup {
				l.errf(s.Pos, "refs must be unique so that `goto: \""+s.Ref+"\"` is unambiguous", "duplicate ref %q (first used at line %d)", s.Ref, p.Line)
			} else {
				refs[s.Ref] = s.Pos
			}
		}
		out = append(out, s)
	}
	return out
}

func (l *loader) step(n ast.Node) *Step {
	s := &Step{Pos: l.pos(n)}
	fields, ok := l.mapping(n, "a step", stepKeys)
	if !ok {
		return nil
	}
	var kinds []field
	for _, f := range fields {
		switch f.key {
		case "id":
			s.ID, s.IDPos = l.str(f, "id"), l.pos(f.val)
			if s.ID != "" && !stepIDRE.MatchString(s.ID) {
				l.errf(s.IDPos, "use letters, digits, '-', '_' and '.'", "step id %q contains invalid characters", s.ID)
			}
		case "ref":
			s.Ref = l.str(f, "ref")
		case "title":
			s.Title = l.str(f, "title")
		case "doc":
			s.Doc = l.str(f, "doc")
		case "capture":
			s.Capture = l.captures(f.val)
		case "branches":
			s.Branches = l.branches(f.val)
		case "else":
			s.Else, s.ElsePos = l.str(f, "else"), l.pos(f.val)
		case "next":
			s.Next, s.NextPos = l.str(f, "next"), l.pos(f.val)
		case "on_error":
			s.OnError, s.OnErrorPos = l.str(f, "on_error"), l.pos(f.val)
		case "choices":
			s.Choices = l.choices(f.val)
		case "auto":
			s.Auto, s.AutoPos = l.str(f, "auto"), l.pos(f.val)
		case "message":
			s.Message, s.MessagePos = l.str(f, "message"), l.pos(f.val)
		case "for_each":
			s.ForEach, s.ForEachPos = l.str(f, "for_each"), l.pos(f.val)
		case "per_host":
			s.PerHost = l.perHost(f)
		case "rollout":
			s.Rollout = l.rollout(f)
		case "as":
			s.As = l.str(f, "as")
			if !nameRE.MatchString(s.As) || contains(builtinNames, s.As) {
				l.errf(l.pos(f.val), "a name for expressions: letters, digits, underscores, not a built-in name", "as %q is not a usable name", s.As)
			}
		default:
			kinds = append(kinds, f)
		}
	}
	if s.ID == "" {
		l.errf(s.Pos, "every step needs a unique `id:`", "step has no id")
	}
	switch len(kinds) {
	case 0:
		l.errf(s.Pos, "add exactly one of: "+strings.Join(stepKinds, ", "), "step %q has no kind", s.ID)
		return s
	case 1:
	default:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.key
		}
		l.errf(kinds[1].keyPos, "split it into separate steps", "step %q has more than one kind: %s", s.ID, strings.Join(names, ", "))
		return s
	}
	k := kinds[0]
	s.Kind = StepKind(k.key)
	switch s.Kind {
	case KindRun:
		s.Run = l.command(k.val, "run", false)
	case KindFix:
		s.Fix = l.command(k.val, "fix", true)
	case KindAsk:
		s.Ask, s.TextPos = l.str(k, "ask"), l.pos(k.val)
	case KindManual:
		s.Manual, s.TextPos = l.str(k, "manual"), l.pos(k.val)
	case KindWait:
		s.Wait = l.wait(k.val)
	case KindCollect:
		s.Collect = l.collect(k.val)
	case KindCall:
		s.Call = l.call(k.val)
	case KindEnd:
		s.End = Outcome(l.str(k, "end"))
		switch s.End {
		case OutcomeResolved, OutcomeEscalated, OutcomeAborted, OutcomeReturn:
		default:
			l.errf(l.pos(k.val), "use resolved, escalated, aborted, or return (a called runbook)", "unknown outcome %q", s.End)
		}
	}
	l.kindKeys(s, fields)
	return s
}

// kindKeys reports routing keys that make no sense for the step's kind.
func (l *loader) kindKeys(s *Step, fields []field) {
	allowed := map[StepKind][]string{
		KindRun:     {"capture", "branches", "else", "next", "on_error", "for_each", "as", "per_host"},
		KindFix:     {"capture", "branches", "else", "next", "on_error", "per_host", "rollout"},
		KindWait:    {"capture", "branches", "else", "next", "on_error", "per_host"},
		KindCollect: {"next", "on_error"},
		KindCall:    {"next", "branches", "else", "for_each", "as"},
		KindManual:  {"next", "choices"},
		KindAsk:     {"choices", "auto"},
		KindEnd:     {"message"},
	}
	routing := []string{"capture", "branches", "else", "next", "on_error", "choices", "auto", "message", "for_each", "as", "per_host", "rollout"}
	for _, f := range fields {
		if contains(routing, f.key) && !contains(allowed[s.Kind], f.key) {
			l.errf(f.keyPos, "allowed with "+string(s.Kind)+": "+strings.Join(allowed[s.Kind], ", "), "key %q is not allowed on a %s step", f.key, s.Kind)
		}
	}
}

func (l *loader) command(n ast.Node, what string, isFix bool) *Command {
	c := &Command{Pos: l.pos(n)}
	keys := runKeys
	if isFix {
		keys = fixKeys
	}
	fields, _ := l.mapping(n, what, keys)
	for _, f := range fields {
		switch f.key {
		case "on":
			c.On, c.OnPos = l.str(f, "on"), l.pos(f.val)
		case "cmd":
			c.Cmd, c.CmdPos = l.str(f, "cmd"), l.pos(f.val)
		case "timeout":
			c.Timeout = l.duration(f, "timeout")
		case "sudo":
			c.Sudo = l.boolean(f, "sudo")
		case "example":
			c.Example, c.ExamplePos = l.str(f, "example"), l.pos(f.val)
		case "destructive":
			c.Destructive = l.boolean(f, "destructive")
		case "input":
			c.Input = l.params(f.val, "input")
		}
	}
	if c.On == "" {
		l.errf(c.Pos, "name the target role it runs on, e.g. `on: active`", "%s needs `on`", what)
	}
	if c.Cmd == "" {
		l.errf(c.Pos, "", "%s needs `cmd`", what)
	}
	return c
}

func (l *loader) wait(n ast.Node) *Wait {
	w := &Wait{Pos: l.pos(n), Every: 10 * time.Second}
	fields, _ := l.mapping(n, "wait", waitKeys)
	for _, f := range fields {
		switch f.key {
		case "every":
			w.Every = l.duration(f, "every")
		case "timeout":
			w.Timeout = l.duration(f, "timeout")
		case "run":
			w.Run = l.command(f.val, "wait.run", false)
		case "until":
			w.Until, w.UntilPos = l.str(f, "until"), l.pos(f.val)
		case "at":
			w.At, w.AtPos = l.str(f, "at"), l.pos(f.val)
		case "for":
			w.For, w.ForPos = l.str(f, "for"), l.pos(f.val)
		}
	}
	if l.timedWait(w) {
		return w
	}
	if w.Timeout == 0 {
		l.errf(w.Pos, "e.g. `timeout: 10m`", "wait needs a timeout")
	}
	if w.Run == nil {
		l.errf(w.Pos, "e.g. `run: {on: active, cmd: ...}`", "wait needs a probe to poll (`run`)")
	}
	if w.Until == "" {
		l.errf(w.Pos, "e.g. `until: exit == 0`", "wait needs `until`")
	}
	if w.Every <= 0 {
		l.errf(w.Pos, "", "wait.every must be positive")
	}
	return w
}

func (l *loader) collect(n ast.Node) []*CollectItem {
	var out []*CollectItem
	items := l.sequence(n, "collect")
	for _, item := range items {
		c := &CollectItem{Pos: l.pos(item)}
		fields, _ := l.mapping(item, "collect item", collectKeys)
		for _, f := range fields {
			switch f.key {
			case "on":
				c.On, c.OnPos = l.str(f, "on"), l.pos(f.val)
			case "files":
				c.Files, c.FilesPos = l.strList(f, "files"), l.pos(f.val)
			case "since":
				c.SincePos = l.pos(f.val)
				if s := l.str(f, "since"); strings.Contains(s, "{{") {
					c.SinceSrc = s
				} else {
					c.Since = l.duration(f, "since")
				}
			case "max_bytes":
				c.MaxBytes = l.size(f, "max_bytes")
			case "cmd":
				c.Cmd = l.str(f, "cmd")
			case "sudo":
				c.Sudo = l.boolean(f, "sudo")
			case "timeout":
				c.Timeout = l.duration(f, "timeout")
			}
		}
		if c.On == "" {
			l.errf(c.Pos, "e.g. `on: active`", "collect item needs `on`")
		}
		if (len(c.Files) == 0) == (c.Cmd == "") {
			l.errf(c.Pos, "one item gathers either files or one command's output", "collect item needs exactly one of `files` and `cmd`")
		}
		out = append(out, c)
	}
	if len(items) == 0 {
		l.errf(l.pos(n), "", "collect needs at least one item")
	}
	return out
}

func (l *loader) captures(n ast.Node) []*Capture {
	fields, _ := l.mapping(n, "capture", nil)
	var out []*Capture
	for _, f := range fields {
		c := &Capture{Name: f.key, Kind: CaptureFirst, Pos: f.keyPos, PatPos: l.pos(f.val)}
		if !nameRE.MatchString(c.Name) {
			l.errf(f.keyPos, "capture names are used in expressions: letters, digits, underscores", "capture name %q is not a valid identifier", c.Name)
		}
		if isScalar(f.val) {
			c.Pattern = l.str(f, "capture pattern")
			l.capturePattern(c)
		} else {
			l.captureSpec(c, f.val)
		}
		out = append(out, c)
	}
	return out
}

// captureSpec reads the mapping form of a capture:
//
//	pattern: RE, all: true      every match, a list
//	table: {sep, columns, header, start}   rows
//	json: object | list         stdout as JSON
func (l *loader) captureSpec(c *Capture, n ast.Node) {
	fields, ok := l.mapping(n, "capture "+c.Name, captureKeys)
	if !ok {
		return
	}
	var kinds []string
	all := false
	for _, f := range fields {
		switch f.key {
		case "pattern":
			c.Pattern, c.PatPos = l.str(f, "pattern"), l.pos(f.val)
			kinds = append(kinds, "pattern")
		case "all":
			all = l.boolean(f, "all")
		case "table":
			c.Kind, c.Table = CaptureTable, l.table(f.val)
			kinds = append(kinds, "table")
		case "json":
			c.Kind, c.PatPos = CaptureJSON, l.pos(f.val)
			c.JSON = l.str(f, "json")
			switch c.JSON {
			case "true", "object":
				c.JSON = "object"
			case "list":
			default:
				l.errf(l.pos(f.val), "use `json: object` (or true) for {...}, `json: list` for [...]", "json capture %q: unknown shape %q", c.Name, c.JSON)
			}
			kinds = append(kinds, "json")
		}
	}
	switch {
	case len(kinds) != 1:
		l.errf(c.Pos, "give exactly one of pattern, table and json", "capture %q needs exactly one of `pattern`, `table` and `json`", c.Name)
		return
	case kinds[0] == "pattern":
		c.Kind = CaptureFirst
		if all {
			c.Kind = CaptureAll
		}
		l.capturePattern(c)
	case all:
		l.errf(c.Pos, "`all` goes with `pattern`", "capture %q: `all` applies to patterns only", c.Name)
	}
}

// capturePattern checks a pattern's syntax; interpolations are checked
// against the session's names by lint, here they stand for a literal word.
func (l *loader) capturePattern(c *Capture) {
	pat := c.Pattern
	if strings.Contains(pat, "{{") {
		t, err := parseTemplate(pat, func(code string) (*Program, error) { return &Program{src: code}, nil })
		if err != nil {
			l.errf(c.PatPos, "", "capture pattern: %v", err)
			return
		}
		var b strings.Builder
		for _, p := range t.parts {
			if p.expr != nil {
				b.WriteString("x")
			} else {
				b.WriteString(p.lit)
			}
		}
		pat = b.String()
	}
	if re, err := regexp.Compile(pat); err != nil {
		l.errf(c.PatPos, "Go RE2 syntax; the first group is captured", "invalid capture pattern: %v", err)
	} else if re.NumSubexp() == 0 {
		l.errf(c.PatPos, `wrap the part to keep in parentheses, e.g. '(\d+)%'`, "capture pattern %q has no group", c.Pattern)
	}
}

func (l *loader) table(n ast.Node) *Table {
	t := &Table{Sep: "auto", Header: true}
	if isScalar(n) {
		if v := scalarString(n); v != "true" && v != "" {
			l.errf(l.pos(n), "e.g. `table: {sep: pipe}` or `table: true`", "table must be true or a mapping, got %q", v)
		}
		return t
	}
	fields, _ := l.mapping(n, "table", tableKeys)
	for _, f := range fields {
		switch f.key {
		case "sep":
			t.Sep = l.str(f, "sep")
			if !contains([]string{"auto", "space", "pipe", "box"}, t.Sep) {
				l.errf(l.pos(f.val), "use auto, space, pipe or box", "unknown table separator %q", t.Sep)
			}
		case "columns":
			t.Columns = l.strList(f, "columns")
		case "header":
			t.Header = l.boolean(f, "header")
		case "start":
			t.Start = l.str(f, "start")
			if _, err := regexp.Compile(t.Start); err != nil {
				l.errf(l.pos(f.val), "Go RE2 syntax", "invalid table start pattern: %v", err)
			}
		}
	}
	if !t.Header && len(t.Columns) == 0 {
		l.errf(l.pos(n), "name the columns: `columns: [slot, state, size]`", "a table without a header row needs `columns`")
	}
	return t
}

func (l *loader) branches(n ast.Node) []*Branch {
	var out []*Branch
	for _, item := range l.sequence(n, "branches") {
		b := &Branch{Pos: l.pos(item)}
		fields, _ := l.mapping(item, "branch", branchKeys)
		for _, f := range fields {
			switch f.key {
			case "if":
				b.If, b.IfPos = l.str(f, "if"), l.pos(f.val)
			case "goto":
				b.Goto, b.GotoPos = l.str(f, "goto"), l.pos(f.val)
			}
		}
		if b.If == "" {
			l.errf(b.Pos, "e.g. `if: exit == 0`", "branch needs `if`")
		}
		if b.Goto == "" {
			l.errf(b.Pos, "", "branch needs `goto`")
			l.lossy()
		}
		out = append(out, b)
	}
	return out
}

func (l *loader) choices(n ast.Node) []*Choice {
	fields, _ := l.mapping(n, "choices", nil)
	var out []*Choice
	for _, f := range fields {
		c := &Choice{Answer: f.key, Goto: l.str(f, "choice target"), Pos: l.pos(f.val)}
		if c.Goto == "" {
			l.errf(f.keyPos, "", "choice %q leads nowhere", c.Answer)
			l.lossy()
		}
		out = append(out, c)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// normalizeRoutes rewrites routes written as vendor refs (`goto: "6"`) to step
// ids, so sessions and events speak ids only. Unknown targets stay for Lint.
func normalizeRoutes(rb *Runbook) {
	fix := func(r *string) {
		if *r != "" {
			if st := rb.Step(*r); st != nil {
				*r = st.ID
			}
		}
	}
	for _, st := range rb.Steps {
		for _, b := range st.Branches {
			fix(&b.Goto)
		}
		for _, c := range st.Choices {
			fix(&c.Goto)
		}
		fix(&st.Else)
		fix(&st.Next)
		fix(&st.OnError)
	}
}
