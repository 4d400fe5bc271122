// Package scenario describes simulated hosts: which commands they answer and
// how, and which files they hold. The same scenario drives the in-process
// Executor (fast tests), the sshtest server (real SSH on loopback) and
// `runbook demo`.
package scenario

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Scenario is one simulated situation for one runbook.
type Scenario struct {
	Name        string            `yaml:"scenario"`
	Runbook     string            `yaml:"runbook"` // runbook id
	Description string            `yaml:"description"`
	Targets     map[string]any    `yaml:"targets"` // role -> host name, or a list of names for groups
	Params      map[string]string `yaml:"params"`
	// What an unattended run of this scenario declares (tests and `demo --auto`).
	Answers    map[string]string            `yaml:"answers"`   // step -> answer
	AllowFix   bool                         `yaml:"allow_fix"` // --allow-fix
	AllowDestr bool                         `yaml:"allow_destructive"`
	AssumeDone []string                     `yaml:"assume_done"` // manual steps
	Inputs     map[string]map[string]string `yaml:"inputs"`      // fix step -> input -> value
	Expect     Expect                       `yaml:"expect"`
	// Clock is when the simulated session starts (default 2026-11-28T03:00:00Z):
	// now() and `since` times read it, waits advance it.
	Clock time.Time        `yaml:"clock"`
	Hosts map[string]*Host `yaml:"hosts"`
}

// Expect is the golden result of an unattended run.
type Expect struct {
	Outcome string   `yaml:"outcome"`
	Path    []string `yaml:"path"`
	// Hosts: each named host's own path through the per-host sections
	// (step ids, in order, every section one after the other).
	Hosts map[string][]string `yaml:"hosts"`
}

// Host is one simulated machine.
type Host struct {
	User     string           `yaml:"user"`
	Commands []*Command       `yaml:"commands"`
	Files    map[string]*File `yaml:"files"`
}

// Command answers scripts matching Match (a regular expression). With Times
// set it answers that often, then later matching entries take over.
type Command struct {
	Match  string        `yaml:"match"`
	Stdout string        `yaml:"stdout"`
	Stderr string        `yaml:"stderr"`
	Exit   int           `yaml:"exit"`
	Delay  time.Duration `yaml:"delay"`
	Hang   bool          `yaml:"hang"`
	Drop   bool          `yaml:"drop"` // drop the connection (transport failure)
	Times  int           `yaml:"times"`

	re *regexp.Regexp
}

// File is a simulated file for collection.
type File struct {
	Content string        `yaml:"content"`
	Size    int64         `yaml:"size"` // generate this many bytes of log lines instead of Content
	Age     time.Duration `yaml:"age"`  // modified this long ago
	Mode    uint32        `yaml:"mode"`
	Link    string        `yaml:"link"` // a symlink to this target
}

// unmarshal is yaml.Unmarshal (strict) that turns a panic inside the
// decoder into an error: goccy/go-yaml v1.19.2 dereferences nil on some
// tagged values (a tagged sequence item, found by FuzzLoad).
func unmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser failed on this file (%v); check tags (!!…) and indentation", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, yaml.Strict())
}

// Load reads a scenario file.
func Load(name string, data []byte) (*Scenario, error) {
	var s Scenario
	if err := unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	if s.Name == "" {
		return nil, fmt.Errorf("scenario %s: missing `scenario:` name", name)
	}
	for hn, h := range s.Hosts {
		if h == nil {
			return nil, fmt.Errorf("scenario %s: host %s is empty", name, hn)
		}
		for p, f := range h.Files {
			if f == nil {
				return nil, fmt.Errorf("scenario %s: host %s: file %s is empty (give it content:, size: or link:)", name, hn, p)
			}
		}
		for i, c := range h.Commands {
			if c == nil {
				return nil, fmt.Errorf("scenario %s: host %s: command %d is empty (give it match: and stdout:)", name, hn, i+1)
			}
			re, err := regexp.Compile(c.Match)
			if err != nil {
				return nil, fmt.Errorf("scenario %s: host %s: match %q: %w", name, hn, c.Match, err)
			}
			c.re = re
		}
	}
	return &s, nil
}

// LoadFile reads a scenario from disk.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data)
}

// Bindings returns the scenario's targets as engine hosts.
func (s *Scenario) Bindings() map[string][]engine.Host {
	out := map[string][]engine.Host{}
	for _, role := range engine.SortedKeys(s.Targets) {
		switch v := s.Targets[role].(type) {
		case string:
			out[role] = append(out[role], engine.Host{Role: role, Name: v})
		case []any:
			for _, x := range v {
				out[role] = append(out[role], engine.Host{Role: role, Name: fmt.Sprint(x)})
			}
		}
	}
	return out
}

// HostNames lists the simulated hosts, sorted.
func (s *Scenario) HostNames() []string {
	names := make([]string, 0, len(s.Hosts))
	for n := range s.Hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Responder answers commands for one scenario and keeps the per-rule counts
// that make hosts stateful ("fails twice, then succeeds"). Safe for
// concurrent use.
type Responder struct {
	s    *Scenario
	mu   sync.Mutex
	used map[*Command]int
}

// NewResponder starts a fresh simulation of s.
func NewResponder(s *Scenario) *Responder {
	return &Responder{s: s, used: map[*Command]int{}}
}

// Scenario returns the scenario simulated.
func (r *Responder) Scenario() *Scenario { return r.s }

// Respond finds the answer of host to script, or nil when nothing matches.
func (r *Responder) Respond(host, script string) *Command {
	h := r.s.Hosts[host]
	if h == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range h.Commands {
		if c.Times > 0 && r.used[c] >= c.Times {
			continue
		}
		if c.re.MatchString(script) {
			r.used[c]++
			return c
		}
	}
	return nil
}
