package engine

// The `alert:` section: where `runbook run --alert` finds params and
// targets in an alert payload (internal/alert reads the payloads).

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/goccy/go-yaml/ast"
)

var (
	alertKeys   = []string{"params", "targets"}
	alertPathRE = regexp.MustCompile(`^[A-Za-z0-9_@$-]+(\.[A-Za-z0-9_@$-]+)*$`)
)

func (l *loader) alert(n ast.Node) *AlertSpec {
	a := &AlertSpec{Pos: l.pos(n)}
	fields, ok := l.mapping(n, "alert", alertKeys)
	if !ok {
		return a
	}
	for _, f := range fields {
		bs, _ := l.mapping(f.val, "alert."+f.key, nil)
		for _, b := range bs {
			af := &AlertField{Name: b.key, Path: l.str(b, "alert."+f.key+"."+b.key), Pos: b.keyPos}
			if !alertPathRE.MatchString(af.Path) {
				l.errf(l.pos(b.val), "a dotted path into the alert: labels.instance, annotations.summary, startsAt, event.data.title", "alert.%s.%s: %q is not a path", f.key, b.key, af.Path)
			}
			if f.key == "params" {
				a.Params = append(a.Params, af)
			} else {
				a.Targets = append(a.Targets, af)
			}
		}
	}
	return a
}

// alertChecks: every binding names a declared param or target.
func (l *linter) alertChecks() {
	a := l.rb.Alert
	if a == nil {
		return
	}
	var params, roles []string
	for _, p := range l.rb.Params {
		params = append(params, p.Name)
	}
	for _, t := range l.rb.Targets {
		roles = append(roles, t.Name)
	}
	sort.Strings(params)
	sort.Strings(roles)
	check := func(fs []*AlertField, what string, names []string) {
		for _, f := range fs {
			if contains(names, f.Name) {
				continue
			}
			hint := fmt.Sprintf("declare it under `%ss:`", what)
			if c := closest(f.Name, names); c != "" {
				hint = fmt.Sprintf("did you mean %q?", c)
			}
			l.errf(f.Pos, hint, "alert: unknown %s %q", what, f.Name)
		}
	}
	check(a.Params, "param", params)
	check(a.Targets, "target", roles)
	if len(a.Params) == 0 && len(a.Targets) == 0 {
		l.warnf(a.Pos, "bind params (`params: {NAME: labels.LABEL}`) or targets (`targets: {ROLE: labels.instance}`)", "alert: binds nothing")
	}
}
