// Package catalog finds runbooks: shipped (embedded), in ./runbooks, and in
// the user's runbook directory.
package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/adrg/xdg"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
	"github.com/runbook-dev/runbook/runbooks"
)

// Entry is one runbook the catalog knows.
type Entry struct {
	ID     string
	Title  string
	Origin string // "shipped", "./runbooks" or the user directory
	Path   string // file path, or "shipped:<name>"
	data   []byte
}

// Data returns the runbook source.
func (e Entry) Data() []byte { return e.data }

// Load parses the entry.
func (e Entry) Load() (*engine.Runbook, error) { return engine.Load(e.Path, e.data) }

// UserDir is where a user keeps their own runbooks.
func UserDir() string { return filepath.Join(xdg.ConfigHome, "runbook", "runbooks") }

// List returns every runbook: ./runbooks first, then the user's, then shipped.
// An id found earlier hides later ones (a local copy overrides the shipped one).
func List() ([]Entry, []error) {
	var out []Entry
	var errs []error
	seen := map[string]bool{}
	add := func(es []Entry, err error) {
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range es {
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
	}
	add(fromDir(os.DirFS("runbooks"), "runbooks", "./runbooks"))
	add(fromDir(os.DirFS(UserDir()), UserDir(), UserDir()))
	add(fromDir(runbooks.FS, "shipped:", "shipped"))
	return out, errs
}

// Shipped returns the embedded runbooks only.
func Shipped() ([]Entry, error) { return fromDir(runbooks.FS, "shipped:", "shipped") }

func fromDir(fsys fs.FS, prefix, origin string) ([]Entry, error) {
	matches, err := fs.Glob(fsys, "*.yaml")
	if err != nil || len(matches) == 0 {
		return nil, nil
	}
	sort.Strings(matches)
	var out []Entry
	var errs []error
	for _, m := range matches {
		data, err := fs.ReadFile(fsys, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := filepath.Join(prefix, m)
		if strings.HasSuffix(prefix, ":") {
			p = prefix + m
		}
		rb, err := engine.Load(p, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Entry{ID: rb.ID, Title: rb.Title, Origin: origin, Path: p, data: data})
	}
	return out, errors.Join(errs...)
}

// Resolve finds a runbook by file path or by id.
func Resolve(arg string) (Entry, error) {
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		data, err := os.ReadFile(arg)
		if err != nil {
			return Entry{}, err
		}
		return Entry{ID: arg, Origin: "file", Path: arg, data: data}, nil
	}
	entries, _ := List()
	for _, e := range entries {
		if e.ID == arg {
			return e, nil
		}
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return Entry{}, fmt.Errorf("no runbook file or id %q (known ids: %s; see `runbook list`)", arg, strings.Join(ids, ", "))
}

// Scenarios returns the shipped scenarios of a runbook id, sorted by name.
func Scenarios(id string) ([]*scenario.Scenario, error) {
	dir := "scenarios/" + id
	matches, err := fs.Glob(runbooks.FS, dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	var out []*scenario.Scenario
	for _, m := range matches {
		data, err := fs.ReadFile(runbooks.FS, m)
		if err != nil {
			return nil, err
		}
		s, err := scenario.Load("shipped:"+m, data)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
