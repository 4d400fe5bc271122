package engine

import "slices"

// fleet checks per-host sections and rollouts.
func (l *linter) fleet() {
	owner := map[string]string{} // step id -> the per_host step whose section holds it
	for _, st := range l.rb.Steps {
		if st.Rollout != nil {
			l.rollout(st)
		}
		if st.PerHost == nil {
			continue
		}
		ph := st.PerHost
		c := st.Command()
		if c != nil {
			if t := l.rb.Target(c.On); t != nil && !t.Group {
				l.errf(ph.Pos, "per_host needs a group: declare target "+c.On+" `group: true`", "step %q: per_host on target %q, which takes one host", st.ID, c.On)
			}
		}
		if ph.Join == "" {
			continue // the loader said per_host needs join (and a step with no id would look like its own join)
		}
		join := l.rb.Step(ph.Join)
		if join == nil {
			if ph.Join != "" {
				l.errf(ph.JoinPos, l.stepHint(ph.Join), "per_host.join %q: no such step", ph.Join)
			}
			continue
		}
		if join == st {
			l.errf(ph.JoinPos, "join at a step after the section", "step %q: per_host cannot join at itself", st.ID)
			continue
		}
		section := l.section(st, join)
		if !section.joins {
			l.errf(ph.JoinPos, "route the section's last steps to "+join.ID, "step %q: no path from it reaches its join step %q", st.ID, join.ID)
		}
		in := map[*Step]bool{}
		for _, x := range section.steps {
			in[x] = true
		}
		for _, x := range section.steps {
			// c (the section step's own command) is nil on a per_host step
			// without run: nothing to compare against.
			if xc := x.Command(); xc != nil && c != nil && xc.On != c.On && x != st {
				l.warnf(xc.OnPos, "inside the section each host's path runs it once: use on: "+c.On+", or move it after "+join.ID,
					"step %q runs on %q inside the per-host section of %q (on %q): it runs once per host of the section", x.ID, xc.On, st.ID, c.On)
			}
			for _, y := range l.rb.Steps {
				if in[y] || x == st {
					continue
				}
				if slices.Contains(y.Routes(), x.ID) || x.Ref != "" && slices.Contains(y.Routes(), x.Ref) {
					l.warnf(x.IDPos, "enter the section at "+st.ID+", or give the outside path a step of its own",
						"step %q is in the per-host section of %q but step %q, outside it, leads to it too: from there it runs for the whole group at once", x.ID, st.ID, y.ID)
					break
				}
			}
		}
		for _, x := range section.steps {
			if o, ok := owner[x.ID]; ok && o != st.ID {
				l.errf(x.IDPos, "one step belongs to one per-host section", "step %q is in the per-host sections of both %q and %q", x.ID, o, st.ID)
			}
			owner[x.ID] = st.ID
			switch {
			case x.Kind == KindEnd:
				l.errf(x.IDPos, "every host re-joins the group at "+join.ID+": route this path there (the join step can end the session)", "step %q ends the session inside the per-host section of %q", x.ID, st.ID)
			case x != st && x.PerHost != nil:
				l.errf(x.PerHost.Pos, "end the first section (join) before the next one starts", "step %q: per-host sections cannot nest (it is inside the section of %q)", x.ID, st.ID)
			case x.Rollout != nil:
				l.errf(x.Rollout.Pos, "a rollout spreads a fix over a group; inside a per-host section each host is alone: drop rollout, or move the fix after "+join.ID, "step %q: rollout inside the per-host section of %q", x.ID, st.ID)
			}
		}
	}
}

type sectionSteps struct {
	steps []*Step // in declaration order
	joins bool    // some path reaches the join step
}

// section is every step reachable from start without passing join.
func (l *linter) section(start, join *Step) sectionSteps {
	seen := map[*Step]bool{start: true}
	queue := []*Step{start}
	joins := false
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, r := range cur.Routes() {
			n := l.rb.Step(r)
			switch {
			case n == nil:
			case n == join:
				joins = true
			case !seen[n]:
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	var out []*Step
	for _, st := range l.rb.Steps {
		if seen[st] {
			out = append(out, st)
		}
	}
	return sectionSteps{steps: out, joins: joins}
}

func (l *linter) rollout(st *Step) {
	r := st.Rollout
	if st.Kind != KindFix || st.Fix == nil {
		return // the loader reported it
	}
	if t := l.rb.Target(st.Fix.On); t != nil && !t.Group {
		l.errf(r.Pos, "a rollout is for a fix on a group: declare target "+st.Fix.On+" `group: true`, or drop rollout", "step %q: rollout on target %q, which takes one host", st.ID, st.Fix.On)
	}
	if v := r.Verify; v != nil {
		if v.On != "" && v.On != st.Fix.On {
			l.errf(v.OnPos, "verify each host the fix changed: on: "+st.Fix.On, "step %q: rollout.verify runs on %q, the fix on %q", st.ID, v.On, st.Fix.On)
		}
		l.template(st, v.Cmd, v.CmdPos, "rollout.verify command")
	}
	if r.OK != "" {
		l.expr(st, r.OK, r.OKPos, l.probeEnv(st), "rollout.ok")
	}
	if r.MaxErrors.Percent && r.MaxErrors.N >= 100 {
		l.warnf(r.MaxErrorsPos, "a rollout that never stops is a plain group fix", "step %q: rollout.max_errors %s never stops the rollout", st.ID, r.MaxErrors)
	}
}
