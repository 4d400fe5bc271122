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
}

// ErrUnsafeValue is returned when an interpolated value cannot be passed safely.
var ErrUnsafeValue = errors.New("unsafe value")

// ParseTemplate splits src into literal text and expressions compiled against env.
func ParseTemplate(src string, env Env) (*Template, error) {
	return parseTemplate(src, func(code string) (*Program, error) { return CompileExpr(code, env) })
}

// parseTemplate lets lint supply a caching compiler.
func parseTemplate(src string, compile func(string) (*Program, error)) (*Template, error) {
	t := &Template{src: src}
	rest := src
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if strings.Contains(rest, "}}") {
				return nil, fmt.Errorf("unmatched }} in command")
			}
			t.parts = append(t.parts, tmplPart{lit: rest})
			return t, nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in command")
		}
		lit, code := rest[:i], strings.TrimSpace(rest[i+2:i+j])
		if strings.Contains(lit, "}}") {
			return nil, fmt.Errorf("unmatched }} in command")
		}
		if code == "" {
			return nil, fmt.Errorf("empty {{ }} in command")
		}
		p, err := compile(code)
		if err != nil {
			return nil, fmt.Errorf("in {{ %s }}: %w", code, err)
		}
		t.parts = append(t.parts, tmplPart{lit: lit}, tmplPart{expr: p})
		rest = rest[i+j+2:]
	}
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
		w, err := word(p.expr, toString(v))
		if err != nil {
			return "", err
		}
		b.WriteString(w)
	}
	return b.String(), nil
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
