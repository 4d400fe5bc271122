package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// addRunbookSeeds adds every runbook the repository holds as a seed.
func addRunbookSeeds(f *testing.F) {
	for _, pat := range []string{"../../testdata/valid/*.yaml", "../../testdata/invalid/*.yaml", "../../testdata/walks/*/runbook.yaml", "../../runbooks/*.yaml"} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
}

// FuzzLoad: no input may panic Load, Lint or Check, and they must agree:
// Check returns a runbook exactly when it reports no errors, and anything
// Load accepts has positions inside the file.
func FuzzLoad(f *testing.F) {
	addRunbookSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := engine.Load("f.yaml", data)
		if err != nil {
			var ds engine.Diagnostics
			if !errors.As(err, &ds) || len(ds) == 0 {
				t.Fatalf("Load error is not Diagnostics: %v", err)
			}
		} else {
			_ = engine.Lint(rb)
			_ = engine.GraphText(rb, "")
			_ = engine.GraphMermaid(rb)
			_ = engine.GraphDot(rb)
		}
		crb, ds := engine.Check("f.yaml", data)
		if (crb != nil) == ds.HasErrors() {
			t.Fatalf("Check: runbook=%v but errors=%v", crb != nil, ds.HasErrors())
		}
		if crb != nil && err != nil {
			t.Fatalf("Check accepted what Load refused: %v", err)
		}
		// YAML counts lines as the spec does: \n, \r\n and a lone \r each
		// end one (testdata/fuzz/FuzzLoad/e3806cf3089186a6: "\r\r00" is
		// an error on line 3).
		lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") + strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r") + 2
		for _, d := range ds {
			if d.Pos.Line < 1 || d.Pos.Line > lines || d.Pos.Col < 1 {
				t.Fatalf("diagnostic outside the file (%d lines): %s", lines, d)
			}
		}
	})
}

func fuzzEnv(s string, n int) engine.Env {
	return engine.Env{
		"exit": n, "stdout": s, "stderr": s, "signal": "", "duration": float64(n),
		"used": s, "captures": map[string]any{"used": s},
		"results": []any{map[string]any{"host": "a", "exit": n, "stdout": s, "used": s}, map[string]any{"host": "b", "exit": 0, "stdout": "", "used": ""}},
		"params":  map[string]any{"dir": s, "limit": int64(n)},
		"answers": map[string]any{"ask": s},
		"steps":   map[string]any{"check": map[string]any{"used": s, "exit": n}},
		"targets": map[string]any{"active": map[string]any{"name": s, "address": s, "user": "", "hosts": []any{s}}},
		"input":   map[string]any{"dir": s},
	}
}

// FuzzExpr: compiling and evaluating any source against any values returns
// a value or an error, never a panic.
func FuzzExpr(f *testing.F) {
	for _, src := range []string{
		"exit == 0", "int(used) >= 90", `percent("87%") > 80`, `bytes("1.5G") > 1024`, "stdout contains 'x'",
		"len(lines(stdout)) > 2", "all(results, .exit == 0)", `steps["check"].used == "1"`, "num(used) > 1.5",
		"params.limit > 3 ? 'yes' : 'no'", "count(results, .used != '')", `matches(stdout, "^a+$")`, "1/0", "int('x')",
		"bytes(used)", "percent(used)", "lines(used)[5]", "upper(stdout) + trim(stderr)", "duration * 1e308 * 1e308",
	} {
		f.Add(src, "93% used\n/dev/sda 1.5G", 1)
	}
	f.Fuzz(func(t *testing.T, src, s string, n int) {
		env := fuzzEnv(s, n)
		p, err := engine.CompileExpr(src, env)
		if err != nil {
			return
		}
		_, _ = p.Eval(env)
		_, _ = p.EvalBool(env)
		_, _ = engine.EvalExpr(src, fuzzEnv("", 0))
	})
}

// FuzzTemplate: any template source renders or errors without a panic, and
// a rendered value is always one shell-quoted word without NUL or newline.
func FuzzTemplate(f *testing.F) {
	for _, src := range []string{
		"df -P {{ params.dir }}", "echo {{ stdout }}", "{{", "}}", "{{ }}", "a {{ params.dir }} {{ input.dir }} b",
		"{{ '{{' }}", "echo {{ 'a' + '}' }}", "rm -rf -- {{ steps[\"check\"].used }}", "{{ params.limit + 1 }}",
	} {
		f.Add(src, "it's $(id) `x` ; *", 3)
	}
	f.Fuzz(func(t *testing.T, src, s string, n int) {
		env := fuzzEnv(s, n)
		tmpl, err := engine.ParseTemplate(src, env)
		if err != nil {
			return
		}
		out, err := tmpl.Render(env)
		if err != nil {
			return
		}
		if strings.ContainsAny(out, "\x00") && !strings.Contains(src, "\x00") {
			t.Fatalf("render produced a NUL from %q", src)
		}
		// The value alone, interpolated, must come out exactly as ShellQuote says.
		one, err := engine.ParseTemplate("{{ stdout }}", env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := one.Render(env)
		if strings.ContainsAny(s, "\x00\n\r") {
			if !errors.Is(err, engine.ErrUnsafeValue) {
				t.Fatalf("unsafe value %q rendered: %q, %v", s, got, err)
			}
			return
		}
		if err != nil || got != engine.ShellQuote(s) {
			t.Fatalf("value %q rendered %q, %v", s, got, err)
		}
		_, _ = tmpl.RenderRaw(env)
	})
}
