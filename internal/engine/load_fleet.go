package engine

import (
	"strconv"
	"strings"
)

// Keys of the many-host parts of a step (perhost.go, rollout.go).
var (
	perHostKeys = []string{"join"}
	rolloutKeys = []string{"canary", "batch", "max_errors", "verify", "ok"}
)

// PerHost makes a section of the tree run per host: from the step that
// carries it, each host of the step's group follows its own path, and the
// hosts re-join the group at Join.
type PerHost struct {
	Join    string
	Pos     Pos
	JoinPos Pos
}

// Amount is a number of hosts: a count, or a percentage of the group.
type Amount struct {
	N       int
	Percent bool
}

// Of is the amount for a group of n hosts; round up says whether a
// percentage rounds up (batch sizes) or down (error budgets).
func (a Amount) Of(n int, up bool) int {
	if !a.Percent {
		return a.N
	}
	v := a.N * n
	if up {
		return (v + 99) / 100
	}
	return v / 100
}

func (a Amount) String() string {
	if a.Percent {
		return strconv.Itoa(a.N) + "%"
	}
	return strconv.Itoa(a.N)
}

// Rollout is how a fix on a group changes it: the canary hosts first, then
// batches, each batch verified before the next; when more hosts fail than
// MaxErrors allows, the rollout stops and asks.
type Rollout struct {
	Canary                             int      // hosts changed first, alone (default 1)
	Batch                              Amount   // hosts per batch after the canary (default 1)
	MaxErrors                          Amount   // failed hosts tolerated (default 0)
	Verify                             *Command // run on each batch's hosts after the fix (On defaults to the fix's)
	OK                                 string   // per host, over the verification's result (default `exit == 0`)
	Pos, OKPos, BatchPos, MaxErrorsPos Pos
}

func (l *loader) perHost(f field) *PerHost {
	p := &PerHost{Pos: l.pos(f.val)}
	fields, _ := l.mapping(f.val, "per_host", perHostKeys)
	for _, g := range fields {
		p.Join, p.JoinPos = l.str(g, "per_host.join"), l.pos(g.val)
	}
	if p.Join == "" {
		l.errf(p.Pos, "e.g. `per_host: {join: summary}`: the step where the hosts re-join the group", "per_host needs `join`")
	}
	return p
}

func (l *loader) rollout(f field) *Rollout {
	r := &Rollout{Pos: l.pos(f.val), Canary: 1, Batch: Amount{N: 1}}
	fields, _ := l.mapping(f.val, "rollout", rolloutKeys)
	for _, g := range fields {
		switch g.key {
		case "canary":
			r.Canary = int(l.integer(g, "rollout.canary"))
			if r.Canary < 0 {
				l.errf(l.pos(g.val), "0 skips the canary", "rollout.canary must not be negative")
			}
		case "batch":
			r.Batch, r.BatchPos = l.amount(g, "rollout.batch"), l.pos(g.val)
			if r.Batch.N < 1 {
				l.errf(r.BatchPos, "e.g. `batch: 5` or `batch: 25%`", "rollout.batch must be at least 1")
			}
		case "max_errors":
			r.MaxErrors, r.MaxErrorsPos = l.amount(g, "rollout.max_errors"), l.pos(g.val)
		case "verify":
			r.Verify = l.command(g.val, "rollout.verify", false)
		case "ok":
			r.OK, r.OKPos = l.str(g, "rollout.ok"), l.pos(g.val)
		}
	}
	return r
}

// amount reads "5" or "25%".
func (l *loader) amount(f field, what string) Amount {
	s := strings.TrimSpace(l.str(f, what))
	a := Amount{}
	if strings.HasSuffix(s, "%") {
		a.Percent, s = true, strings.TrimSuffix(s, "%")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || a.Percent && n > 100 {
		l.errf(l.pos(f.val), "a count of hosts (5) or a percentage of the group (25%)", "%s: %q is not a count or a percentage", what, l.str(f, what))
		return Amount{N: 1}
	}
	a.N = n
	return a
}
