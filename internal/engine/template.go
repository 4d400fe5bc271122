package engine

import (
	"errors"
	"fmt"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Template is a command with {{ EXPR }} interpolations. Every interpolated
// value is shell-quoted: a value is always exactly one word to sh, whatever
// it contains. Values holding NUL or a newline are refused outright.
type Template struct {
	src   string
	parts []tmplPart
}

type tmplPart struct {
	lit  string
	expr *Program // nil for literal parts
	off  int      // byte offset of the part's {{ in the source
}

// ErrUnsafeValue is returned when an interpolated value cannot be passed safely.
var ErrUnsafeValue = errors.New("unsafe value")

// ParseTemplate splits src into literal text and expressions compiled against env.
//
// Literal braces: text between {{raw}} and {{/raw}} is copied as written,
// braces included, so `docker inspect -f '{{raw}}{{.State.Status}}{{/raw}}'`
// and `oc patch ... '{{raw}}{"spec": {"paused": true}}{{/raw}}'` reach the
// host unchanged.
func ParseTemplate(src string, env Env) (*Template, error) {
	return parseTemplate(src, func(code string) (*Program, error) { return CompileExpr(code, env) })
}

// Raw-block delimiters: everything between them is literal text.
const (
	RawOpen  = "{{raw}}"
	RawClose = "{{/raw}}"
)

// TemplateError is a template that does not parse; Offset is the byte
// offset in the source where the problem starts, so lint can point at it.
type TemplateError struct {
	Offset int
	Msg    string
	Err    error // the expression's compile error, when that is the problem
}

func (e *TemplateError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *TemplateError) Unwrap() error { return e.Err }

const rawHint = "; write literal braces inside {{raw}}...{{/raw}}"

// parseTemplate lets lint supply a caching compiler.
func parseTemplate(src string, compile func(string) (*Program, error)) (*Template, error) {
	t := &Template{src: src}
	var lit strings.Builder
	off := 0 // offset of rest in src
	rest := src
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if k := strings.Index(rest, "}}"); k >= 0 {
				return nil, &TemplateError{Offset: off + k, Msg: "unmatched }} in command" + rawHint}
			}
			lit.WriteString(rest)
			flush()
			return t, nil
		}
		if k := strings.Index(rest[:i], "}}"); k >= 0 {
			return nil, &TemplateError{Offset: off + k, Msg: "unmatched }} in command" + rawHint}
		}
		lit.WriteString(rest[:i])
		if strings.HasPrefix(rest[i:], RawOpen) {
			body := rest[i+len(RawOpen):]
			j := strings.Index(body, RawClose)
			if j < 0 {
				return nil, &TemplateError{Offset: off + i, Msg: "{{raw}} is never closed: end the literal text with {{/raw}}"}
			}
			lit.WriteString(body[:j])
			adv := i + len(RawOpen) + j + len(RawClose)
			rest, off = rest[adv:], off+adv
			continue
		}
		if strings.HasPrefix(rest[i:], RawClose) {
			return nil, &TemplateError{Offset: off + i, Msg: "{{/raw}} without a {{raw}} before it"}
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, &TemplateError{Offset: off + i, Msg: "unclosed {{ in command" + rawHint}
		}
		code := strings.TrimSpace(rest[i+2 : i+j])
		if code == "" {
			return nil, &TemplateError{Offset: off + i, Msg: "empty {{ }} in command"}
		}
		p, err := compile(code)
		if err != nil {
			return nil, &TemplateError{Offset: off + i, Msg: fmt.Sprintf("in {{ %s }}", code), Err: err}
		}
		flush()
		t.parts = append(t.parts, tmplPart{expr: p, off: off + i})
		adv := i + j + 2
		rest, off = rest[adv:], off+adv
	}
}

// HasExpr reports whether src holds an interpolation (not only raw text).
func (t *Template) HasExpr() bool {
	for _, p := range t.parts {
		if p.expr != nil {
			return true
		}
	}
	return false
}

// Render evaluates the template. Each value is converted to text, checked
// and quoted for sh.
func (t *Template) Render(env Env) (string, error) {
	return t.render(env, func(p *Program, s string) (string, error) {
		if strings.ContainsAny(s, "\x00\n\r") {
			return "", fmt.Errorf("{{ %s }}: %w: contains NUL or a line break", p, ErrUnsafeValue)
		}
		return ShellQuote(s), nil
	})
}

// render evaluates every expression part and passes its text through word.
func (t *Template) render(env Env, word func(p *Program, s string) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.expr.Eval(env)
		if err != nil {
			return "", err
		}
		if v == nil { // a capture that did not match, a missing key: never ''
			return "", fmt.Errorf("{{ %s }}: no value (a capture that did not match, or a missing key)", p.expr)
		}
		// A list (an all-match capture, a map over table rows) is several
		// words, each one checked and quoted on its own.
		items, isList := listItems(v)
		if !isList {
			items = []any{v}
		}
		for i, item := range items {
			w, err := word(p.expr, toString(item))
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
	}
	return b.String(), nil
}

// listItems returns the items of a list value.
func listItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// ShellQuote quotes s as one sh word; plain words stay readable.
func ShellQuote(s string) string {
	return shellescape.Quote(s)
}

// Source is the template text as written.
func (t *Template) Source() string { return t.src }

// RenderRaw evaluates the template without quoting (for param defaults,
// which are values, not commands).
func (t *Template) RenderRaw(env Env) (string, error) {
	return t.render(env, func(_ *Program, s string) (string, error) { return s, nil })
}
