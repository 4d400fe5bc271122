package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"

	"github.com/runbook-dev/runbook/internal/engine"
)

// endpoint is one host resolved through Aliases and ssh_config: where to
// dial, as whom, with which keys, through which jump hosts.
type endpoint struct {
	Alias          string // the host as named by the operator (ssh_config Host match)
	User           string
	HostName       string
	Port           int
	Identities     []string
	IdentitiesOnly bool
	Jumps          []string // ProxyJump hops, outermost first, unresolved
	ProxyCommand   string   // ssh_config ProxyCommand, tokens not yet expanded
	ConnectTimeout time.Duration
	Strict         string   // ssh_config StrictHostKeyChecking, lowercased
	KnownHosts     []string // ssh_config UserKnownHostsFile
	HostKeyAlias   string
}

func (ep *endpoint) addr() string { return net.JoinHostPort(ep.HostName, strconv.Itoa(ep.Port)) }

// keyName is the name the host key is checked and recorded under.
func (ep *endpoint) keyName() string {
	if ep.HostKeyAlias != "" {
		return net.JoinHostPort(ep.HostKeyAlias, strconv.Itoa(ep.Port))
	}
	return ep.addr()
}

func (ep *endpoint) String() string { return ep.User + "@" + ep.addr() }

// splitHostSpec parses [ssh://][user@]host[:port] and [user@][v6]:port
// with the engine's one parser, so Host.Address/User agree with what is
// dialled.
func splitHostSpec(s string) (usr, host string, port int, err error) {
	hs, err := engine.ParseHostSpec(s)
	if err != nil {
		return "", "", 0, err
	}
	return hs.User, hs.Host, hs.Port, nil
}

// sshConfigs is the parsed ssh_config, most specific file first.
type sshConfigs []*ssh_config.Config

func loadSSHConfigs(cfg *Config) (sshConfigs, []string, error) {
	if cfg.NoSSHConfig {
		return nil, nil, nil
	}
	var files []string
	if cfg.SSHConfig != "" {
		files = []string{cfg.SSHConfig}
	} else {
		if home, err := os.UserHomeDir(); err == nil {
			files = append(files, filepath.Join(home, ".ssh", "config"))
		}
		files = append(files, "/etc/ssh/ssh_config")
	}
	var out sshConfigs
	var read []string
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && (cfg.SSHConfig == "" || i > 0) {
				continue
			}
			return nil, read, fmt.Errorf("read ssh_config %s: %w", f, err)
		}
		read = append(read, f)
		c, err := ssh_config.DecodeBytes(data)
		if err != nil {
			return nil, read, fmt.Errorf("parse ssh_config %s: %w", f, err)
		}
		out = append(out, c)
	}
	return out, read, nil
}

// get returns the first value for key, as OpenSSH does: the first file and
// the first matching Host block win.
func (cs sshConfigs) get(alias, key string) string {
	for _, c := range cs {
		v, err := c.Get(alias, key)
		if err == nil && v != "" {
			return v
		}
	}
	return ""
}

// matching keeps, in each file, the Host blocks that match alias, in order:
// Config.Get tests every block's patterns (regexps) for every key, and a
// resolve asks a dozen keys of one alias (a 100-host config made that 5 %
// of a fleet run's client CPU).
func (cs sshConfigs) matching(alias string) sshConfigs {
	out := make(sshConfigs, len(cs))
	for i, c := range cs {
		f := &ssh_config.Config{}
		for _, h := range c.Hosts {
			if h.Matches(alias) {
				f.Hosts = append(f.Hosts, h)
			}
		}
		out[i] = f
	}
	return out
}

func (cs sshConfigs) getAll(alias, key string) []string {
	var out []string
	for _, c := range cs {
		v, err := c.GetAll(alias, key)
		if err == nil {
			out = append(out, v...)
		}
	}
	return out
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// expandTokens expands ~ and the ssh_config tokens that matter for file names.
func expandTokens(s string, ep *endpoint) string {
	home, _ := os.UserHomeDir()
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = home + s[1:]
	}
	r := strings.NewReplacer("%%", "%", "%d", home, "%u", localUser(), "%h", ep.HostName,
		"%r", ep.User, "%n", ep.Alias, "%p", strconv.Itoa(ep.Port))
	return r.Replace(s)
}

// resolve turns a host as typed (user@host:port, or an ssh_config alias)
// into an endpoint: through `ssh -G` when New chose OpenSSH (Match blocks,
// --ssh-resolve openssh), else the built-in parser. Results are cached per
// name, so a host costs one ssh -G per run.
func (c *Client) resolve(name string) (*endpoint, error) {
	if c.sshG == "" {
		return c.resolveBuiltin(name)
	}
	if _, host, _, err := splitHostSpec(name); err == nil {
		if _, ok := c.cfg.Aliases[host]; ok {
			return c.resolveBuiltin(name)
		}
	}
	c.mu.Lock()
	ep, ok := c.resolved[name]
	c.mu.Unlock()
	if ok {
		cp := *ep
		return &cp, nil
	}
	ep, err := c.resolveOpenSSH(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.resolved[name] = ep
	c.mu.Unlock()
	cp := *ep
	return &cp, nil
}

// resolveBuiltin resolves name with the ssh_config library.
func (c *Client) resolveBuiltin(name string) (*endpoint, error) {
	if c.sshcfgErr != nil {
		return nil, c.sshcfgErr
	}
	usr, host, port, err := splitHostSpec(name)
	if err != nil {
		return nil, fmt.Errorf("resolve host %q: %w", name, err)
	}
	ep := &endpoint{Alias: host, HostName: host}
	cs := c.sshcfg.matching(host)
	if a, ok := c.cfg.Aliases[host]; ok {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("resolve host %q: alias %q: %w", name, a, err)
		}
		ep.HostName = h
		if port == 0 {
			port, _ = strconv.Atoi(p)
		}
	} else if hn := cs.get(host, "HostName"); hn != "" {
		ep.HostName = strings.ReplaceAll(hn, "%h", host)
	}
	if port == 0 {
		if p := cs.get(host, "Port"); p != "" {
			port, _ = strconv.Atoi(p)
		}
	}
	if port == 0 {
		port = 22
	}
	ep.Port = port
	switch {
	case usr != "":
		ep.User = usr
	case cs.get(host, "User") != "":
		ep.User = cs.get(host, "User")
	case c.cfg.User != "":
		ep.User = c.cfg.User
	default:
		ep.User = localUser()
	}
	for _, f := range cs.getAll(host, "IdentityFile") {
		ep.Identities = append(ep.Identities, expandTokens(f, ep))
	}
	ep.IdentitiesOnly = strings.EqualFold(cs.get(host, "IdentitiesOnly"), "yes")
	if pj := cs.get(host, "ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		for _, hop := range strings.Split(pj, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				ep.Jumps = append(ep.Jumps, hop)
			}
		}
	}
	// ProxyJump and ProxyCommand exclude each other in OpenSSH; a host that
	// sets both uses ProxyJump here.
	if pc := cs.get(host, "ProxyCommand"); pc != "" && !strings.EqualFold(pc, "none") && len(ep.Jumps) == 0 {
		ep.ProxyCommand = pc
	}
	if ct := cs.get(host, "ConnectTimeout"); ct != "" {
		if n, err := strconv.Atoi(ct); err == nil && n > 0 {
			ep.ConnectTimeout = time.Duration(n) * time.Second
		}
	}
	ep.Strict = strings.ToLower(cs.get(host, "StrictHostKeyChecking"))
	if kh := cs.get(host, "UserKnownHostsFile"); kh != "" {
		for _, f := range strings.Fields(kh) {
			if f != "/dev/null" {
				ep.KnownHosts = append(ep.KnownHosts, expandTokens(f, ep))
			}
		}
	}
	ep.HostKeyAlias = cs.get(host, "HostKeyAlias")
	return ep, nil
}
