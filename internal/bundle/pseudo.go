package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/redact"
)

// Pseudonymisation (Options.Pseudonymise) happens where names enter the
// bundle: the Redactor carries the Pseudonymiser, so every text that is
// redacted (file contents, command output, event text, errors, messages)
// is pseudonymised in the same pass; the fields redaction does not touch
// but that hold host names or remote paths (hosts of entries and events,
// targets, remote paths and link targets) go through pseudo below, at the
// Writer's entry points (New, File, Skipped, Command, Event, SetHost).
// Member names, the manifest, the report and redactions.json are derived
// from those values, so they hold only pseudonyms. The map goes beside the
// archive (mode 0600), never inside it.

// pseudoMapSuffix replaces ".tar.gz" in the map's file name.
const pseudoMapSuffix = ".pseudonyms-PRIVATE.json"

// newPseudonymiser learns the targets' host names (and this machine's
// name when a target is local) before any text goes through.
func newPseudonymiser(targets map[string][]engine.Host) *redact.Pseudonymiser {
	p := redact.NewPseudonymiser()
	for _, role := range engine.SortedKeys(targets) {
		for _, h := range targets[role] {
			if h.IsLocal() {
				if name, err := os.Hostname(); err == nil {
					p.AddHost(name)
				}
				continue
			}
			p.AddHost(h.Name)
			if h.Addr != "" {
				p.AddHost(h.Addr)
			}
		}
	}
	return p
}

// learnHostParams learns the values of `type: host` params (session.start
// carries them before anything is collected): a host named only by a param
// is a site's host too.
func (w *Writer) learnHostParams(params map[string]string) {
	if w.pseu == nil {
		return
	}
	for _, p := range w.opts.Runbook.Params {
		if v := params[p.Name]; p.Type == engine.ParamHost && v != "" {
			w.pseu.AddHost(v)
		}
	}
}

// pseudo replaces addresses and host names in s (unchanged when
// pseudonymisation is off).
func (w *Writer) pseudo(s string) string {
	if w.pseu == nil || s == "" {
		return s
	}
	return w.pseu.String(s)
}

func (w *Writer) pseudoHost(h engine.Host) engine.Host {
	h.Name = w.pseudo(h.Name)
	return h
}

func (w *Writer) pseudoTargets(t map[string][]engine.Host) map[string][]engine.Host {
	if w.pseu == nil || t == nil {
		return t
	}
	out := make(map[string][]engine.Host, len(t))
	for role, hs := range t {
		for _, h := range hs {
			out[role] = append(out[role], w.pseudoHost(h))
		}
	}
	return out
}

// pseudoEvent covers the event fields redaction does not see.
func (w *Writer) pseudoEvent(e *engine.Event) {
	if w.pseu == nil {
		return
	}
	e.Host, e.Lane = w.pseudo(e.Host), w.pseudo(e.Lane)
	if e.Checks != nil {
		// Copied: the slice is shared with the session and other observers.
		cs := make([]engine.DecisionCheck, len(e.Checks))
		for i, c := range e.Checks {
			c.Expr = w.pseudo(c.Expr)
			vs := make([]engine.ExprValue, len(c.Values))
			for j, v := range c.Values {
				v.Value = w.pseudo(v.Value)
				vs[j] = v
			}
			c.Values = vs
			cs[i] = c
		}
		e.Checks = cs
	}
	if e.Targets != nil {
		c := make(map[string][]string, len(e.Targets))
		for role, names := range e.Targets {
			for _, n := range names {
				c[role] = append(c[role], w.pseudo(n))
			}
		}
		e.Targets = c
	}
}

// pseudoDivergence copies the per-host paths with host names (and the
// free text that may quote them) pseudonymised.
func (w *Writer) pseudoDivergence(ds []engine.SectionPaths) []engine.SectionPaths {
	if w.pseu == nil || ds == nil {
		return ds
	}
	steps := func(in []engine.PathStep) []engine.PathStep {
		out := make([]engine.PathStep, len(in))
		for i, st := range in {
			st.Error, st.Answer = w.pseudo(st.Error), w.pseudo(st.Answer)
			out[i] = st
		}
		return out
	}
	out := make([]engine.SectionPaths, len(ds))
	for i, d := range ds {
		d.Line = w.pseudo(d.Line)
		paths := make([]engine.HostPath, len(d.Paths))
		for j, hp := range d.Paths {
			paths[j] = engine.HostPath{Host: w.pseudo(hp.Host), Steps: steps(hp.Steps)}
		}
		d.Paths = paths
		groups := make([]engine.PathGroup, len(d.Groups))
		for j, g := range d.Groups {
			hosts := make([]string, len(g.Hosts))
			for k, h := range g.Hosts {
				hosts[k] = w.pseudo(h)
			}
			g.Hosts, g.Steps, g.Label = hosts, steps(g.Steps), w.pseudo(g.Label)
			groups[j] = g
		}
		d.Groups = groups
		out[i] = d
	}
	return out
}

// PseudonymMap is the file holding the map from pseudonyms back to real
// values, once Close wrote it ("" without pseudonymisation).
func (w *Writer) PseudonymMap() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pseuPath
}

// pseudoMapFile is the map's document.
type pseudoMapFile struct {
	Note   string        `json:"note"`
	Bundle string        `json:"bundle"`
	SHA256 string        `json:"bundle_sha256"`
	Pairs  []redact.Pair `json:"pairs"`
}

// writePseudoMap writes the map beside the archive, mode 0600, through a
// random-named O_EXCL|O_NOFOLLOW temporary.
func (w *Writer) writePseudoMap(sum string) error {
	if w.pseu == nil {
		return nil
	}
	name := strings.TrimSuffix(w.path, ".tar.gz") + pseudoMapSuffix
	doc := pseudoMapFile{
		Note: "Private: this maps the pseudonyms in " + filepath.Base(w.path) + " back to real IP addresses and host names. " +
			"Keep it; do not send it with the bundle.",
		Bundle: filepath.Base(w.path), SHA256: sum, Pairs: w.pseu.Mapping(),
	}
	if doc.Pairs == nil {
		doc.Pairs = []redact.Pair{}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := writeTemp(name, append(b, '\n'), 0o600)
	if err != nil {
		return fmt.Errorf("write pseudonym map: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write pseudonym map: %w", err)
	}
	w.pseuPath = name
	return nil
}
