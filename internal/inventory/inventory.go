package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Host is one inventory host.
type Host struct {
	Name    string // the inventory name (web1)
	Address string // ansible_host; empty: Name is the address (or an ssh_config alias)
	Port    int    // ansible_port; 0: the transport's default
	User    string // ansible_user
}

// Target is the host as `--target` takes it: [user@]address[:port], so the
// SSH transport dials what the inventory says (an IPv6 address is bracketed
// when a port follows).
func (h Host) Target() string {
	addr := h.Address
	if addr == "" {
		addr = h.Name
	}
	s := addr
	if h.Port != 0 {
		if strings.Contains(addr, ":") {
			s = "[" + addr + "]"
		}
		s += ":" + strconv.Itoa(h.Port)
	}
	if h.User != "" {
		s = h.User + "@" + s
	}
	return s
}

// Inventory is a parsed inventory: hosts and groups (with children).
type Inventory struct {
	File   string
	hosts  map[string]*Host
	order  []string // hosts in the order the file names them
	groups map[string]*group
}

type group struct {
	hosts    []string
	children []string
	vars     map[string]string
}

func newInventory(file string) *Inventory {
	return &Inventory{File: file, hosts: map[string]*Host{}, groups: map[string]*group{}}
}

func (inv *Inventory) group(name string) *group {
	g := inv.groups[name]
	if g == nil {
		g = &group{vars: map[string]string{}}
		inv.groups[name] = g
	}
	return g
}

func (inv *Inventory) addHost(g, name string) *Host {
	h := inv.hosts[name]
	if h == nil {
		h = &Host{Name: name}
		inv.hosts[name] = h
		inv.order = append(inv.order, name)
	}
	if g != "" {
		grp := inv.group(g)
		if !slices.Contains(grp.hosts, name) {
			grp.hosts = append(grp.hosts, name)
		}
	}
	return h
}

// Groups lists the group names, sorted ("all" included).
func (inv *Inventory) Groups() []string {
	names := []string{"all"}
	for n := range inv.groups {
		if n != "all" {
			names = append(names, n)
		}
	}
	sort.Strings(names[1:])
	return names
}

// Group returns the hosts of a group and of its children, each once, in the
// order the inventory names them. "all" is every host.
func (inv *Inventory) Group(name string) ([]Host, error) {
	if name == "all" {
		out := make([]Host, 0, len(inv.order))
		for _, n := range inv.order {
			out = append(out, inv.resolved(n))
		}
		return out, nil
	}
	if inv.groups[name] == nil {
		return nil, fmt.Errorf("inventory %s has no group %q (groups: %s)", inv.File, name, strings.Join(inv.Groups(), ", "))
	}
	members := map[string]bool{}
	seen := map[string]bool{}
	var walk func(g string, depth int) error
	walk = func(g string, depth int) error {
		if seen[g] {
			return nil
		}
		if depth > 100 {
			return fmt.Errorf("inventory %s: groups nest deeper than 100 (at %q)", inv.File, g)
		}
		seen[g] = true
		grp := inv.groups[g]
		if grp == nil {
			return nil
		}
		for _, h := range grp.hosts {
			members[h] = true
		}
		for _, c := range grp.children {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(name, 0); err != nil {
		return nil, err
	}
	var out []Host
	for _, n := range inv.order {
		if members[n] {
			out = append(out, inv.resolved(n))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("inventory %s: group %q has no hosts", inv.File, name)
	}
	return out, nil
}

// resolved is a host with the connection vars it inherits: its own first,
// then those of the groups that list it, then their parents', then all's.
func (inv *Inventory) resolved(name string) Host {
	h := *inv.hosts[name]
	for _, g := range inv.groupsOf(name) {
		vars := inv.groups[g].vars
		if h.Address == "" {
			h.Address = vars["ansible_host"]
		}
		if h.User == "" {
			h.User = vars["ansible_user"]
		}
		if h.Port == 0 {
			h.Port, _ = strconv.Atoi(vars["ansible_port"])
		}
	}
	return h
}

// groupsOf lists the groups that hold host, nearest first, "all" last.
func (inv *Inventory) groupsOf(host string) []string {
	parents := map[string][]string{}
	for name, g := range inv.groups {
		for _, c := range g.children {
			parents[c] = append(parents[c], name)
		}
	}
	var level []string
	for _, name := range sortedKeys(inv.groups) {
		if slices.Contains(inv.groups[name].hosts, host) {
			level = append(level, name)
		}
	}
	var out []string
	seen := map[string]bool{}
	for depth := 0; len(level) > 0 && depth < 100; depth++ {
		var next []string
		for _, g := range level {
			if seen[g] {
				continue
			}
			seen[g] = true
			if g != "all" {
				out = append(out, g)
			}
			next = append(next, parents[g]...)
		}
		sort.Strings(next)
		level = next
	}
	if inv.groups["all"] != nil {
		out = append(out, "all")
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Load reads an inventory file: Ansible INI, YAML, or the JSON of
// `ansible-inventory --list`.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return Parse(path, data)
}

// Parse detects the format from the content.
func Parse(file string, data []byte) (*Inventory, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, fmt.Errorf("inventory %s: empty", file)
	case trimmed[0] == '{':
		return parseJSON(file, data)
	case looksINI(trimmed):
		return parseINI(file, data)
	}
	return parseYAML(file, data)
}

// looksINI: a section header or a host line with key=value, before any
// YAML mapping key.
func looksINI(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line == "---" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			return true
		}
		if i := strings.IndexByte(line, ':'); i > 0 && (i == len(line)-1 || line[i+1] == ' ') {
			return false // "all:" or "key: value": YAML
		}
		return true // a bare host line
	}
	return true
}

func parseINI(file string, data []byte) (*Inventory, error) {
	inv := newInventory(file)
	section, kind := "ungrouped", "hosts"
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		at := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", file, n, fmt.Sprintf(format, args...))
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, at("section header %q has no closing ]", line)
			}
			name := line[1 : len(line)-1]
			section, kind = name, "hosts"
			if g, suffix, ok := strings.Cut(name, ":"); ok {
				switch suffix {
				case "children", "vars":
					section, kind = g, suffix
				default:
					return nil, at("section [%s]: want [group], [group:children] or [group:vars]", name)
				}
			}
			if section == "" {
				return nil, at("empty group name")
			}
			inv.group(section)
			continue
		}
		fields, err := splitINI(line)
		if err != nil {
			return nil, at("%v", err)
		}
		switch kind {
		case "children":
			if len(fields) != 1 {
				return nil, at("a [%s:children] line names one group, got %q", section, line)
			}
			g := inv.group(section)
			if !slices.Contains(g.children, fields[0]) {
				g.children = append(g.children, fields[0])
			}
			inv.group(fields[0])
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, at("a [%s:vars] line is NAME=VALUE, got %q", section, line)
			}
			inv.group(section).vars[strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
		default:
			names, err := Expand(fields[0])
			if err != nil {
				return nil, at("%v", err)
			}
			vars := map[string]string{}
			for _, f := range fields[1:] {
				k, v, ok := strings.Cut(f, "=")
				if !ok {
					return nil, at("host %s: %q is not NAME=VALUE", fields[0], f)
				}
				vars[k] = unquote(v)
			}
			for _, name := range names {
				if err := setVars(inv.addHost(section, name), vars); err != nil {
					return nil, at("%v", err)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", file, err)
	}
	return inv, inv.check()
}

// splitINI splits on whitespace outside quotes.
func splitINI(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0:
			cur.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
			cur.WriteRune(r)
		case r == ' ' || r == '\t':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		case r == '#' && cur.Len() == 0:
			return out, nil // a trailing comment
		default:
			cur.WriteRune(r)
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// setVars applies a host's connection vars (the others are Ansible's own
// and ignored here).
func setVars(h *Host, vars map[string]string) error {
	for k, v := range vars {
		switch k {
		case "ansible_host", "ansible_ssh_host":
			h.Address = v
		case "ansible_user", "ansible_ssh_user":
			h.User = v
		case "ansible_port", "ansible_ssh_port":
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 || p > 65535 {
				return fmt.Errorf("host %s: %s=%q is not a port", h.Name, k, v)
			}
			h.Port = p
		}
	}
	return nil
}

// check refuses addresses the SSH transport could never reach, or that
// would read as an option. (Child cycles are harmless: Group visits each
// group once.)
func (inv *Inventory) check() error {
	for _, n := range inv.order {
		h := inv.hosts[n]
		addr := h.Address
		if addr == "" {
			addr = h.Name
		}
		if strings.HasPrefix(addr, "-") || strings.ContainsAny(addr, " \t/\\\x00@") {
			return fmt.Errorf("inventory %s: host %q: address %q is not a host name or IP", inv.File, n, addr)
		}
		if strings.Contains(addr, ":") && net.ParseIP(addr) == nil {
			return fmt.Errorf("inventory %s: host %q: address %q: put the port in ansible_port", inv.File, n, addr)
		}
	}
	return nil
}

// yamlGroup is a group in an Ansible YAML inventory.
type yamlGroup struct {
	Hosts    map[string]map[string]any `yaml:"hosts"`
	Children map[string]*yamlGroup     `yaml:"children"`
	Vars     map[string]any            `yaml:"vars"`
}

func parseYAML(file string, data []byte) (*Inventory, error) {
	var top map[string]*yamlGroup
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("inventory %s: not Ansible INI, YAML or JSON: %v", file, yaml.FormatError(err, false, true))
	}
	if len(top) == 0 {
		return nil, fmt.Errorf("inventory %s: no groups (want all: {hosts: ..., children: ...})", file)
	}
	inv := newInventory(file)
	var add func(name string, g *yamlGroup, depth int) error
	add = func(name string, g *yamlGroup, depth int) error {
		if depth > 100 {
			return fmt.Errorf("inventory %s: groups nest deeper than 100", file)
		}
		grp := inv.group(name)
		if g == nil {
			return nil
		}
		for k, v := range g.Vars {
			grp.vars[k] = fmt.Sprint(v)
		}
		// Host order: the YAML map loses it; sort for a stable order.
		for _, hn := range sortedKeys(g.Hosts) {
			names, err := Expand(hn)
			if err != nil {
				return fmt.Errorf("inventory %s: group %s: %v", file, name, err)
			}
			vars := map[string]string{}
			for k, v := range g.Hosts[hn] {
				vars[k] = fmt.Sprint(v)
			}
			for _, n := range names {
				if err := setVars(inv.addHost(name, n), vars); err != nil {
					return fmt.Errorf("inventory %s: %v", file, err)
				}
			}
		}
		for _, cn := range sortedKeys(g.Children) {
			if !slices.Contains(grp.children, cn) {
				grp.children = append(grp.children, cn)
			}
			if err := add(cn, g.Children[cn], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range sortedKeys(top) {
		if err := add(name, top[name], 0); err != nil {
			return nil, err
		}
	}
	return inv, inv.check()
}

// parseJSON reads `ansible-inventory --list` output.
func parseJSON(file string, data []byte) (*Inventory, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("inventory %s: invalid JSON: %v", file, err)
	}
	inv := newInventory(file)
	var meta struct {
		Hostvars map[string]map[string]any `json:"hostvars"`
	}
	if raw, ok := top["_meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("inventory %s: _meta: %v", file, err)
		}
	}
	for _, name := range sortedKeys(top) {
		if name == "_meta" {
			continue
		}
		var g struct {
			Hosts    []string       `json:"hosts"`
			Children []string       `json:"children"`
			Vars     map[string]any `json:"vars"`
		}
		if err := json.Unmarshal(top[name], &g); err != nil {
			// The old form: a group may be just a list of hosts.
			if err2 := json.Unmarshal(top[name], &g.Hosts); err2 != nil {
				return nil, fmt.Errorf("inventory %s: group %s: %v", file, name, err)
			}
		}
		grp := inv.group(name)
		for k, v := range g.Vars {
			grp.vars[k] = fmt.Sprint(v)
		}
		for _, c := range g.Children {
			grp.children = append(grp.children, c)
			inv.group(c)
		}
		for _, h := range g.Hosts {
			inv.addHost(name, h)
		}
	}
	for _, n := range sortedKeys(meta.Hostvars) {
		vars := map[string]string{}
		for k, v := range meta.Hostvars[n] {
			vars[k] = fmt.Sprint(v)
		}
		if err := setVars(inv.addHost("", n), vars); err != nil {
			return nil, fmt.Errorf("inventory %s: %v", file, err)
		}
	}
	return inv, inv.check()
}
