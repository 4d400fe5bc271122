package engine

import (
	"fmt"
	"strings"
)

// PathGroup is a set of hosts that took the same path through a per-host
// section and answered alike.
type PathGroup struct {
	Hosts []string   `json:"hosts"`
	Steps []PathStep `json:"steps"` // the path, as the first host of the group took it
	// At is the first point where this group's path differs from the
	// others' (a step id, with the answer when the answer is what differs);
	// empty when every host took the same path.
	At    string `json:"at,omitempty"`
	Label string `json:"label"` // "6 (ping ok)": the step (ref and title) at At
}

// pathKey is what sets hosts apart: the steps in order and their answers.
func pathKey(p HostPath) []string {
	k := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		k[i] = s.Step
		if s.Answer != "" {
			k[i] += "=" + s.Answer
		}
	}
	return k
}

// GroupPaths sets hosts apart by the path they took, largest group first
// (ties in host order).
func GroupPaths(rb *Runbook, paths []HostPath) []PathGroup {
	var groups []PathGroup
	var keys [][]string
	index := map[string]int{}
	for _, p := range paths {
		k := pathKey(p)
		id := strings.Join(k, "\x00")
		i, ok := index[id]
		if !ok {
			i = len(groups)
			index[id] = i
			groups = append(groups, PathGroup{Steps: p.Steps})
			keys = append(keys, k)
		}
		groups[i].Hosts = append(groups[i].Hosts, p.Host)
	}
	// Where each group leaves the common prefix of all paths.
	prefix := 0
	if len(keys) > 1 {
		for ; ; prefix++ {
			same := true
			for _, k := range keys {
				if prefix >= len(k) || k[prefix] != keys[0][prefix] {
					same = false
					break
				}
			}
			if !same {
				break
			}
		}
	}
	for i := range groups {
		k := keys[i]
		if len(keys) > 1 && prefix < len(k) {
			groups[i].At = k[prefix]
			id, answer, _ := strings.Cut(k[prefix], "=")
			groups[i].Label = stepLabel(rb, id)
			if answer != "" {
				groups[i].Label = fmt.Sprintf("%s answered %q", stepLabel(rb, id), answer)
			}
			// The step before tells why when this one is where they went.
			if answer == "" && prefix > 0 {
				prev := groups[i].Steps[prefix-1]
				if prev.Answer != "" {
					groups[i].Label += fmt.Sprintf(" (answered %q)", prev.Answer)
				}
			}
		} else if len(keys) > 1 && len(groups[i].Steps) > 0 && groups[i].Steps[len(groups[i].Steps)-1].Next != "" {
			// Their path is the common part: where they went from it.
			groups[i].At = groups[i].Steps[len(groups[i].Steps)-1].Next
			groups[i].Label = stepLabel(rb, groups[i].At)
		} else {
			var ids []string
			for _, s := range groups[i].Steps {
				ids = append(ids, s.Step)
			}
			groups[i].Label = strings.Join(ids, " → ")
		}
	}
	// Stable: largest first.
	for i := 1; i < len(groups); i++ {
		for j := i; j > 0 && len(groups[j].Hosts) > len(groups[j-1].Hosts); j-- {
			groups[j], groups[j-1] = groups[j-1], groups[j]
		}
	}
	return groups
}

// stepLabel is "6 (ping ok)" for a step with ref 6 and title "ping ok",
// else its id, with its title when it has one.
func stepLabel(rb *Runbook, id string) string {
	st := rb.Step(id)
	if st == nil {
		return id
	}
	name := st.ID
	if st.Ref != "" {
		name = st.Ref
	}
	if st.Title != "" && st.Title != name {
		return name + " (" + st.Title + ")"
	}
	return name
}

// maxNamed bounds the hosts a divergence line names per group.
const maxNamed = 8

// Divergence is one line for people: "38 hosts → 6 (ping ok) · 2 hosts → 4
// (ping failed): h017, h042". Every group but the largest names its hosts.
func Divergence(rb *Runbook, paths []HostPath) string {
	groups := GroupPaths(rb, paths)
	if len(groups) == 1 {
		return fmt.Sprintf("%s took one path: %s", hostCount(len(groups[0].Hosts)), groups[0].Label)
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = hostCount(len(g.Hosts)) + " → " + g.Label
		if i > 0 {
			parts[i] += ": " + nameHosts(g.Hosts)
		}
	}
	return strings.Join(parts, " · ")
}

func hostCount(n int) string {
	if n == 1 {
		return "1 host"
	}
	return fmt.Sprintf("%d hosts", n)
}

func nameHosts(hosts []string) string {
	if len(hosts) <= maxNamed {
		return strings.Join(hosts, ", ")
	}
	return strings.Join(hosts[:maxNamed], ", ") + fmt.Sprintf(" +%d more", len(hosts)-maxNamed)
}

// SectionPaths is one pass through a per-host section.
type SectionPaths struct {
	Step   string      `json:"step"` // the per_host step
	Join   string      `json:"join"`
	Visit  int         `json:"visit"`
	Paths  []HostPath  `json:"paths"`
	Groups []PathGroup `json:"groups"`
	Line   string      `json:"summary"`
	// Open: the section is still in progress (the session stopped inside
	// it); each path ends where its host is now.
	Open bool `json:"open,omitempty"`
}

// Divergences lists every pass through a per-host section, in visit
// order: each host's path and the hosts grouped by it; the last is Open
// when the session is inside one now.
func (s *Session) Divergences() []SectionPaths {
	var out []SectionPaths
	for _, v := range s.st.history {
		if len(v.Paths) == 0 {
			continue
		}
		sp := SectionPaths{Step: v.Step, Visit: v.N, Paths: v.Paths, Groups: GroupPaths(s.rb, v.Paths), Line: Divergence(s.rb, v.Paths)}
		if st := s.rb.Step(v.Step); st != nil && st.PerHost != nil {
			sp.Join = st.PerHost.Join
		}
		out = append(out, sp)
	}
	if sec := s.fleet.sec; sec != nil {
		paths := s.LivePaths()
		out = append(out, SectionPaths{Step: sec.start.ID, Join: sec.join.ID, Visit: s.st.visit.N, Paths: paths,
			Groups: GroupPaths(s.rb, paths), Line: Divergence(s.rb, paths), Open: true})
	}
	return out
}

// LivePaths is each host's path so far through the per-host section in
// progress (nil outside one): what the divergence view shows while the
// hosts are still apart.
func (s *Session) LivePaths() []HostPath {
	sec := s.fleet.sec
	if sec == nil {
		return nil
	}
	out := make([]HostPath, len(sec.lanes))
	for i, ln := range sec.lanes {
		out[i] = lanePath(ln.host.Name, ln.s)
	}
	return out
}

// fleetTag marks a step's many-host behaviour in the text graph:
// "[run, per host until summary]", "[fix, rollout canary 1 then 25%]".
func fleetTag(st *Step) string {
	out := ""
	if st.PerHost != nil {
		out += ", per host until " + st.PerHost.Join
	}
	if r := st.Rollout; r != nil {
		out += fmt.Sprintf(", rollout canary %d then %s, max errors %s", r.Canary, r.Batch, r.MaxErrors)
	}
	return out
}
