package engine

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Env is the set of names an expression or a command template can see.
// Built-in names:
//
//	exit, stdout, stderr, signal, duration   the current step's probe
//	timed_out                                the probe hit its timeout
//	<capture>                                this step's captures by name (nil: no match)
//	captures                                 the same as a map
//	results                                  one entry per host for group targets
//	satisfied, polls, elapsed                wait steps
//	params, input, answers, steps, targets   everything else in the session
type Env map[string]any

// builtinNames are reserved: captures may not shadow them.
var builtinNames = []string{"exit", "stdout", "stderr", "signal", "timed_out", "duration", "captures", "results",
	"satisfied", "polls", "elapsed", "params", "input", "answers", "steps", "targets", "now", "visits"}

// exprOptions are the helpers every expression gets, on top of expr's own
// builtins (int, float, len, all, any, count, filter, upper, trim, ...) and
// operators (contains, matches, startsWith, endsWith, in).
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.Function("lines", func(args ...any) (any, error) {
			s := toString(args[0])
			s = strings.TrimRight(s, "\n")
			if s == "" {
				return []any{}, nil
			}
			parts := strings.Split(s, "\n")
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = strings.TrimSuffix(p, "\r")
			}
			return out, nil
		}, new(func(string) []any)),
		expr.Function("bytes", func(args ...any) (any, error) {
			n, err := ParseSize(toString(args[0]))
			if err != nil {
				return nil, err
			}
			return int(n), nil
		}, new(func(string) int), new(func(int) int)),
		expr.Function("percent", func(args ...any) (any, error) {
			s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(toString(args[0])), "%"))
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("percent(%q): not a percentage", toString(args[0]))
			}
			return v, nil
		}, new(func(string) float64)),
		expr.Function("num", func(args ...any) (any, error) {
			if args[0] == nil {
				return nil, errors.New("num(nil): no value")
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(toString(args[0])), 64)
			if err != nil || math.IsNaN(v) {
				return nil, fmt.Errorf("num(%q): not a number", toString(args[0]))
			}
			return v, nil
		}, new(func(string) float64)),
		// has(x) tells a value from no value: a capture whose pattern did
		// not match, a missing key. has("") is true (an empty match).
		expr.Function("has", func(args ...any) (any, error) {
			return args[0] != nil, nil
		}, new(func(any) bool)),
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

var exprPosSuffix = regexp.MustCompile(` \(\d+:\d+\)$`)

// Program is a compiled expression.
type Program struct {
	src string
	p   *vm.Program
}

// String is the expression's source.
func (p *Program) String() string { return p.src }

// CompileExpr compiles a boolean-or-value expression against an example env.
// Names not in env are errors.
func CompileExpr(src string, env Env) (*Program, error) {
	opts := append([]expr.Option{expr.Env(map[string]any(env))}, exprOptions()...)
	opts = append(opts, langOptions()...)
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, cleanExprErr(err)
	}
	return &Program{src: src, p: p}, nil
}

// compileRuntimeExpr compiles src for an env whose nil values are untyped.
func compileRuntimeExpr(src string, env Env) (*Program, error) {
	typed := make(map[string]any, len(env))
	for k, v := range env {
		if v != nil {
			typed[k] = v
		}
	}
	opts := append([]expr.Option{expr.Env(typed), expr.AllowUndefinedVariables()}, exprOptions()...)
	// The language's helpers too: without them an unknown name such as
	// around is an undefined variable here, nil when called.
	opts = append(opts, langOptions()...)
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, cleanExprErr(err)
	}
	return &Program{src: src, p: p}, nil
}

// EvalBool runs a compiled expression and requires a boolean result.
func (p *Program) EvalBool(env Env) (bool, error) {
	v, err := p.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q gave %T, want a boolean", p.src, v)
	}
	return b, nil
}

// Eval runs a compiled expression.
func (p *Program) Eval(env Env) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("expression %q: %v", p.src, r)
		}
	}()
	v, err = expr.Run(p.p, map[string]any(env))
	if err != nil {
		// expr's "(1:5)" points into the expression; at run time the
		// expression is quoted whole, so the position is noise.
		msg := exprPosSuffix.ReplaceAllString(cleanExprErr(err).Error(), "")
		return nil, fmt.Errorf("expression %q: %s", p.src, msg)
	}
	return v, nil
}

// EvalExpr compiles and runs src in one go (runtime use: the env is real).
func EvalExpr(src string, env Env) (any, error) {
	p, err := CompileExpr(src, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	return p.Eval(env)
}

// cleanExprErr keeps expr's first line: the source excerpt it appends is
// noise once we report our own file:line:col.
func cleanExprErr(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s", msg)
}
