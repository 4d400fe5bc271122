package scenario

import (
	"fmt"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Edge kinds: every way out of a step a runbook declares.
const (
	EdgeBranch  = "branch"
	EdgeElse    = "else"
	EdgeNext    = "next"
	EdgeChoice  = "choice"
	EdgeOnError = "on_error"
)

// Edge is one declared route out of a step.
type Edge struct {
	From  string
	Kind  string
	Label string // the branch condition or the choice's answer
	To    string
	Pos   engine.Pos
}

func (e Edge) String() string {
	switch e.Kind {
	case EdgeBranch:
		return fmt.Sprintf("%s --if %s--> %s", e.From, e.Label, e.To)
	case EdgeChoice:
		return fmt.Sprintf("%s --%q--> %s", e.From, e.Label, e.To)
	}
	return fmt.Sprintf("%s --%s--> %s", e.From, e.Kind, e.To)
}

// Edges lists every route a runbook declares, in step order.
func Edges(rb *engine.Runbook) []Edge {
	var out []Edge
	for _, st := range rb.Steps {
		if returnOf(st) != nil {
			continue // a called runbook's return routes by its call step's edges
		}
		if c := st.Call; c != nil && c.Callee != nil {
			// The call's own routes, taken when the callee returns (its
			// entry is not a route the author declared).
			for _, b := range c.Branches {
				out = append(out, Edge{From: st.ID, Kind: EdgeBranch, Label: b.If, To: b.Goto, Pos: b.GotoPos})
			}
			if c.Else != "" {
				out = append(out, Edge{From: st.ID, Kind: EdgeElse, To: c.Else, Pos: c.ElsePos})
			}
			if c.Return != "" {
				out = append(out, Edge{From: st.ID, Kind: EdgeNext, To: c.Return, Pos: st.NextPos})
			}
			continue
		}
		for _, b := range st.Branches {
			out = append(out, Edge{From: st.ID, Kind: EdgeBranch, Label: b.If, To: b.Goto, Pos: b.GotoPos})
		}
		for _, c := range st.Choices {
			out = append(out, Edge{From: st.ID, Kind: EdgeChoice, Label: c.Answer, To: c.Goto, Pos: c.Pos})
		}
		if st.Else != "" {
			out = append(out, Edge{From: st.ID, Kind: EdgeElse, To: st.Else, Pos: st.ElsePos})
		}
		if st.Next != "" {
			out = append(out, Edge{From: st.ID, Kind: EdgeNext, To: st.Next, Pos: st.NextPos})
		}
		if st.OnError != "" {
			out = append(out, Edge{From: st.ID, Kind: EdgeOnError, To: st.OnError, Pos: st.OnErrorPos})
		}
	}
	for i := range out {
		if out[i].Pos.File == "" {
			out[i].Pos.File = rb.File
		}
	}
	return out
}

// returnOf is the call step a called runbook's `end: return` (inlined)
// goes back to, or nil.
func returnOf(st *engine.Step) *engine.Step {
	if st.Frame != nil && st.Kind == engine.KindEnd && st.End == engine.OutcomeReturn && st.Frame.Call != nil && st.Frame.Call.Call != nil {
		if st.Next == st.Frame.Call.Call.Return || len(st.Branches) > 0 || st.Else != "" {
			return st.Frame.Call
		}
	}
	return nil
}

// Coverage is which declared edges a set of runs took.
type Coverage struct {
	Edges []Edge
	Taken []bool
	rb    *engine.Runbook
}

// NewCoverage starts counting the edges of rb.
func NewCoverage(rb *engine.Runbook) *Coverage {
	e := Edges(rb)
	return &Coverage{Edges: e, Taken: make([]bool, len(e)), rb: rb}
}

// Add marks the edges a run's decisions took. A decision names its step,
// where it went and why (engine.Decision.Expr: the branch condition that
// held, "else", "next", "choice ANSWER", "on_error"); operator overrides
// take no declared edge.
func (c *Coverage) Add(decisions []engine.Event) {
	for _, d := range decisions {
		if c.rb != nil {
			if st := c.rb.Step(d.Step); st != nil {
				if call := returnOf(st); call != nil {
					d.Step = call.ID // the return decides by its call's edges
				}
			}
		}
		for i, e := range c.Edges {
			if e.From == d.Step && e.To == d.Next && takes(e, d.Expr) {
				c.Taken[i] = true
				break
			}
		}
	}
}

func takes(e Edge, expr string) bool {
	switch e.Kind {
	case EdgeBranch:
		return expr == e.Label
	case EdgeChoice:
		return expr == "choice "+e.Label
	}
	return expr == e.Kind
}

// Counts is taken and total edges.
func (c *Coverage) Counts() (taken, total int) {
	for _, t := range c.Taken {
		if t {
			taken++
		}
	}
	return taken, len(c.Edges)
}

// Percent is the share of edges taken; a runbook without edges is fully covered.
func (c *Coverage) Percent() float64 {
	taken, total := c.Counts()
	if total == 0 {
		return 100
	}
	return 100 * float64(taken) / float64(total)
}

// Missed lists the edges no run took.
func (c *Coverage) Missed() []Edge {
	var out []Edge
	for i, e := range c.Edges {
		if !c.Taken[i] {
			out = append(out, e)
		}
	}
	return out
}

// oneLine shortens an expression for a report line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}

// Describe is an edge for a report: file:line:col, then the route.
func (e Edge) Describe() string {
	label := e.String()
	if e.Kind == EdgeBranch {
		label = fmt.Sprintf("%s --if %s--> %s", e.From, oneLine(e.Label), e.To)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Pos.File, e.Pos.Line, e.Pos.Col, label)
}
