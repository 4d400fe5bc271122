package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestGraphTextSiblingsShareADepth: the routes out of one step start at the
// same column, whether they lead to a new step or to one drawn elsewhere,
// and a chain of next steps never drifts right.
func TestGraphTextSiblingsShareADepth(t *testing.T) {
	var b strings.Builder
	b.WriteString("runbook: 1\nid: g\ntitle: G\ntargets: {h: {}}\nsteps:\n")
	b.WriteString("  - {id: start, run: {on: h, cmd: 'true'}, branches: [{if: 'exit == 1', goto: a}, {if: 'exit == 2', goto: done}], else: c0}\n")
	b.WriteString("  - {id: a, ask: 'A?', choices: {'yes': done, 'no': c0}}\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "  - {id: c%d, manual: 'step %d', next: c%d}\n", i, i, i+1)
	}
	b.WriteString("  - {id: c30, end: escalated}\n  - {id: done, end: resolved}\n")
	rb, err := engine.Load("g.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	out := engine.GraphText(rb, "c5")
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	col := func(prefix string) []int {
		var cols []int
		for _, l := range lines {
			if i := strings.Index(l, prefix); i >= 0 {
				cols = append(cols, len([]rune(l[:i])))
			}
		}
		return cols
	}
	// The three routes out of "start" ([exit == 1], [exit == 2], [else]).
	var routes []int
	for _, p := range []string{"[exit == 1]", "[exit == 2]", "[else]"} {
		c := col(p)
		if len(c) != 1 {
			t.Fatalf("route %s drawn %d times:\n%s", p, len(c), out)
		}
		routes = append(routes, c[0])
	}
	if routes[0] != routes[1] || routes[1] != routes[2] {
		t.Errorf("sibling routes at columns %v, want one column:\n%s", routes, out)
	}
	// The chain c0..c30 stays at one column.
	var chain []int
	for i := 0; i <= 30; i++ {
		chain = append(chain, col(fmt.Sprintf("c%d [", i))...)
	}
	for _, c := range chain {
		if c != chain[0] {
			t.Fatalf("chain drifts: columns %v\n%s", chain, out)
		}
	}
	if !strings.Contains(out, "▶ c5 [manual]") {
		t.Errorf("current step not marked:\n%s", out)
	}
	// Every step is drawn exactly once.
	for _, st := range rb.Steps {
		n := 0
		for _, l := range lines {
			tag := st.ID + " [" + string(st.Kind) + "]"
			if st.Kind == engine.KindEnd {
				tag = st.ID + " (" + string(st.End) + ") [end]"
			}
			if strings.Contains(l, tag) && !strings.Contains(l, "→") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("step %s drawn %d times:\n%s", st.ID, n, out)
		}
	}
}

// TestGraphTextWraps: a line longer than the width wraps under its entry.
func TestGraphTextWraps(t *testing.T) {
	long := strings.Repeat("word ", 40)
	src := "runbook: 1\nid: w\ntitle: W\ntargets: {h: {}}\nsteps:\n" +
		"  - {id: s, title: '" + long + "', run: {on: h, cmd: 'true'}, next: e}\n  - {id: e, end: resolved}\n"
	rb, err := engine.Load("w.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out := engine.GraphTextWidth(rb, "", 60)
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 60 {
			t.Errorf("line of %d columns > 60: %q", n, l)
		}
	}
	if strings.Count(out, "word") != 40 {
		t.Errorf("words lost in wrapping:\n%s", out)
	}
}
