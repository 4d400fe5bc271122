package engine

import (
	"slices"
	"testing"

	"github.com/expr-lang/expr/conf"
)

// TestEveryHelperIsDocumented: each function registered for expressions
// (ours and the session's) has an entry in Helpers, so docs/language.md,
// which is generated from Helpers, lists them all.
func TestEveryHelperIsDocumented(t *testing.T) {
	c := conf.CreateNew()
	for _, o := range append(exprOptions(), langOptions()...) {
		o(c)
	}
	var names []string
	for n := range c.Functions {
		names = append(names, n)
	}
	for n, v := range sessionFuncs(nil, nil) {
		_ = v
		names = append(names, n)
	}
	documented := map[string]bool{}
	for _, h := range Helpers() {
		if documented[h.Name] {
			t.Errorf("helper %s documented twice", h.Name)
		}
		documented[h.Name] = true
		if h.Doc == "" || h.Example == "" || h.Result == "" || h.Signature == "" {
			t.Errorf("helper %s: doc, signature, example and result are all required", h.Name)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if !documented[n] {
			t.Errorf("function %s is registered but not documented: add it to Helpers() in helpers.go and run go test ./internal/engine -run TestLanguageDoc -update", n)
		}
	}
	// The session must provide exactly the session helpers lint declares.
	env := (&linter{rb: &Runbook{}}).baseEnv(&Step{})
	for n := range sessionFuncs(nil, nil) {
		if _, ok := env[n]; !ok {
			t.Errorf("lint env lacks session helper %s", n)
		}
	}
}

// A decision line shows a table capture by its row count and other lists
// and objects as JSON, never in Go's map syntax ("[map[Erlang:…").
func TestFactOfListsAndObjects(t *testing.T) {
	rows := []any{map[string]any{"Node": "md1@ecss1", "Erlang": "md1@ecss1"}, map[string]any{"Node": "md1@ecss2"}}
	for _, c := range []struct {
		v    any
		want string
	}{
		{rows, "[2 rows]"},
		{rows[:1], "[1 row]"},
		{[]any{"ntp1", "ntp2"}, `"[\"ntp1\",\"ntp2\"]"`},
		{[]any{}, `"[]"`},
		{map[string]any{"ok": true}, `"{\"ok\":true}"`},
		{"93", "93"},
		{nil, "<no match>"},
	} {
		if got := factOf(c.v); got != c.want {
			t.Errorf("factOf(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}
