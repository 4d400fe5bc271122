package scenario

// Recording: a real session (its journal, or a bundle's transcript) becomes
// a scenario. What each host printed for each command becomes that
// simulated host's answer, in order, so the incident replays offline
// (`runbook demo FILE --scenario NAME`, `runbook test`) and can be walked
// again with another answer. Output, commands and params are as the session
// recorded them: secrets masked.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Recording is what a scenario is made from.
type Recording struct {
	Name    string // scenario name (default "recorded")
	From    string // the session id or bundle, for the description
	Runbook *engine.Runbook
	Started time.Time
	Targets map[string][]string // role -> host names as the session bound them
	Params  map[string]string   // raw values; secrets left out (they are masked)
	Events  []engine.Event
	// Files collected, by host then remote path, and collect commands'
	// outputs, by host then command (from a bundle).
	Files, Collected map[string]map[string]string
}

// recorded is the YAML shape written (the Scenario fields, omitempty).
type recorded struct {
	Name        string                       `yaml:"scenario"`
	Runbook     string                       `yaml:"runbook"`
	Description string                       `yaml:"description,omitempty"`
	Clock       string                       `yaml:"clock,omitempty"`
	Targets     map[string]any               `yaml:"targets,omitempty"`
	Params      map[string]string            `yaml:"params,omitempty"`
	Answers     map[string]string            `yaml:"answers,omitempty"`
	AllowFix    bool                         `yaml:"allow_fix,omitempty"`
	AllowDestr  bool                         `yaml:"allow_destructive,omitempty"`
	AssumeDone  []string                     `yaml:"assume_done,omitempty"`
	Inputs      map[string]map[string]string `yaml:"inputs,omitempty"`
	Expect      *recordedExpect              `yaml:"expect,omitempty"`
	Hosts       map[string]*recordedHost     `yaml:"hosts"`
}

type recordedExpect struct {
	Outcome string   `yaml:"outcome"`
	Path    []string `yaml:"path"`
}

type recordedHost struct {
	Commands []*recordedCommand       `yaml:"commands,omitempty"`
	Files    map[string]*recordedFile `yaml:"files,omitempty"`
}

type recordedCommand struct {
	Match  string `yaml:"match"`
	Stdout string `yaml:"stdout,omitempty"`
	Stderr string `yaml:"stderr,omitempty"`
	Exit   int    `yaml:"exit,omitempty"`
	Hang   bool   `yaml:"hang,omitempty"`
	Drop   bool   `yaml:"drop,omitempty"`
	Times  int    `yaml:"times,omitempty"`
}

type recordedFile struct {
	Content string `yaml:"content"`
}

// Masked stands for a secret param's value, which no journal holds.
const Masked = "******"

// Record writes the scenario of a recording.
func Record(r Recording) ([]byte, error) {
	if r.Runbook == nil {
		return nil, fmt.Errorf("record: no runbook")
	}
	name := r.Name
	if name == "" {
		name = "recorded"
	}
	sc := &recorded{Name: name, Runbook: r.Runbook.ID, Hosts: map[string]*recordedHost{}, Targets: map[string]any{},
		Params: map[string]string{}, Answers: map[string]string{}, Inputs: map[string]map[string]string{}}
	if !r.Started.IsZero() {
		sc.Clock = r.Started.UTC().Format(time.RFC3339)
	}
	// "local" is this machine to the transport: a replay must never run
	// there, so the simulated host gets a name of its own.
	simName := func(n string) string {
		if n == "local" {
			return "local-recorded"
		}
		return n
	}
	targets := map[string][]string{}
	for role, names := range r.Targets {
		for _, n := range names {
			targets[role] = append(targets[role], simName(n))
		}
	}
	for role, names := range targets {
		if len(names) == 1 {
			sc.Targets[role] = names[0]
		} else {
			var l []any
			for _, n := range names {
				l = append(l, n)
			}
			sc.Targets[role] = l
		}
		for _, n := range names {
			if sc.Hosts[n] == nil {
				sc.Hosts[n] = &recordedHost{}
			}
		}
	}
	for k, v := range r.Params {
		sc.Params[k] = v
	}
	for _, p := range r.Runbook.Params {
		if _, ok := sc.Params[p.Name]; !ok && p.Secret {
			sc.Params[p.Name] = Masked
		}
	}
	// Commands per host, in the order they ran; the output and result that
	// follow a command on its host belong to it.
	cur := map[string]*recordedCommand{}
	var order []*recordedCommand
	hostOf := map[*recordedCommand]string{}
	var path []string
	outcome := ""
	notes := []string{}
	for _, e := range r.Events {
		switch e.Type {
		case engine.EvStepEnter:
			path = append(path, e.Step)
		case engine.EvCommand:
			if e.Host == "" {
				continue
			}
			e.Host = simName(e.Host)
			c := &recordedCommand{Match: matchOf(e.Command)}
			cur[e.Host] = c
			order = append(order, c)
			hostOf[c] = e.Host
		case engine.EvOutput:
			c := cur[simName(e.Host)]
			if c == nil {
				continue
			}
			if e.Truncated || e.Bytes > 0 {
				notes = append(notes, fmt.Sprintf("step %s on %s: the recorded output was cut (only its head and tail were kept)", e.Step, e.Host))
			}
			if e.Stream == "stderr" {
				c.Stderr += e.Data
			} else {
				c.Stdout += e.Data
			}
		case engine.EvResult:
			e.Host = simName(e.Host)
			c := cur[e.Host]
			if c == nil {
				continue
			}
			switch {
			case e.Error != "":
				c.Drop = true
			case e.TimedOut:
				c.Hang = true
			case e.Exit != nil:
				c.Exit = *e.Exit
			}
			delete(cur, e.Host)
		case engine.EvAnswer:
			sc.Answers[e.Step] = e.Answer
		case engine.EvManualDone:
			sc.AssumeDone = append(sc.AssumeDone, e.Step)
		case engine.EvConfirm:
			sc.AllowFix = true
			if st := r.Runbook.Step(e.Step); st != nil && st.Fix != nil && st.Fix.Destructive {
				sc.AllowDestr = true
			}
			if len(e.Inputs) > 0 {
				sc.Inputs[e.Step] = e.Inputs
			}
		case engine.EvOverride, engine.EvBack:
			notes = append(notes, fmt.Sprintf("the operator moved the walk at step %s (%s): an unattended replay follows the declared routes", e.Step, e.Type))
		case engine.EvSessionEnd:
			outcome = string(e.Outcome)
		}
	}
	// The same command asked again answers its next recorded output; the
	// last one keeps answering (a wait polling past what was recorded).
	last := map[string]*recordedCommand{}
	for _, c := range order {
		last[hostOf[c]+"\x00"+c.Match] = c
	}
	for _, c := range order {
		h := hostOf[c]
		if sc.Hosts[h] == nil {
			sc.Hosts[h] = &recordedHost{}
		}
		if last[h+"\x00"+c.Match] != c {
			c.Times = 1
		}
		sc.Hosts[h].Commands = append(sc.Hosts[h].Commands, c)
	}
	for _, rh := range engine.SortedKeys(r.Collected) {
		h := simName(rh)
		if sc.Hosts[h] == nil {
			sc.Hosts[h] = &recordedHost{}
		}
		for _, cmd := range engine.SortedKeys(r.Collected[rh]) {
			sc.Hosts[h].Commands = append(sc.Hosts[h].Commands, &recordedCommand{Match: matchOf(cmd), Stdout: r.Collected[rh][cmd]})
		}
	}
	for rh, files := range r.Files {
		h := simName(rh)
		if sc.Hosts[h] == nil {
			sc.Hosts[h] = &recordedHost{}
		}
		sc.Hosts[h].Files = map[string]*recordedFile{}
		for p, content := range files {
			sc.Hosts[h].Files[p] = &recordedFile{Content: content}
		}
	}
	if outcome != "" {
		sc.Expect = &recordedExpect{Outcome: outcome, Path: path}
	}
	desc := "Recorded from " + r.From
	if !r.Started.IsZero() {
		desc += ", started " + r.Started.UTC().Format("2006-01-02 15:04:05Z")
	}
	if outcome != "" {
		desc += ", ended " + outcome
	} else {
		desc += ", not ended (no expect)"
	}
	desc += ". Outputs and params as journaled: secrets masked."
	sort.Strings(notes)
	notes = compact(notes)
	if len(notes) > 0 {
		desc += " " + strings.Join(notes, "; ") + "."
	}
	sc.Description = desc
	if len(sc.Params) == 0 {
		sc.Params = nil
	}
	if len(sc.Answers) == 0 {
		sc.Answers = nil
	}
	if len(sc.Inputs) == 0 {
		sc.Inputs = nil
	}
	out, err := yaml.MarshalWithOptions(sc, yaml.UseLiteralStyleIfMultiline(true))
	if err != nil {
		return nil, err
	}
	out = append([]byte("# Recorded by `runbook scenario record`: replay with `runbook demo RUNBOOK-FILE --scenario "+name+"`\n# or `runbook test`; change an answer to walk another branch.\n"), out...)
	if _, err := Load(name, out); err != nil {
		return nil, fmt.Errorf("record: the scenario does not load back: %w", err)
	}
	return out, nil
}

// matchOf is the pattern that answers a recorded command: the command as
// it ran, except that a masked secret (which the replay renders from the
// masked param, quoted) matches any text.
func matchOf(cmd string) string {
	return "^" + strings.ReplaceAll(regexp.QuoteMeta(cmd), regexp.QuoteMeta(Masked), ".+") + "$"
}

func compact(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
