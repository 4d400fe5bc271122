package ssh

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Resolver says how a host's ssh_config settings are worked out.
type Resolver string

const (
	// ResolveAuto uses the built-in parser unless the configuration needs
	// OpenSSH itself: a Match block (evaluated on user, canonical host name,
	// exec, ...) or a file the parser cannot read. Then it asks `ssh -G`.
	ResolveAuto Resolver = ""
	// ResolveOpenSSH always asks `ssh -G HOST`, so every host resolves
	// exactly as the operator's own ssh would (one exec per distinct host).
	ResolveOpenSSH Resolver = "openssh"
	// ResolveBuiltin never runs ssh: the library parser only.
	ResolveBuiltin Resolver = "builtin"
)

// ParseResolver reads --ssh-resolve.
func ParseResolver(s string) (Resolver, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return ResolveAuto, nil
	case "openssh", "ssh":
		return ResolveOpenSSH, nil
	case "builtin":
		return ResolveBuiltin, nil
	}
	return "", fmt.Errorf("unknown resolver %q (want auto, openssh or builtin)", s)
}

// sshGTimeout bounds one `ssh -G` (it reads files and may run Match exec).
const sshGTimeout = 10 * time.Second

// chooseResolver decides, once in New, whether hosts resolve through
// `ssh -G`. parseErr is the built-in parser's error, files the ssh_config
// files it read.
func chooseResolver(cfg *Config, files []string, parseErr error) (bin string, err error) {
	if cfg.NoSSHConfig || cfg.Resolver == ResolveBuiltin {
		return "", parseErr
	}
	bin = cfg.SSHBinary
	if bin == "" {
		bin = "ssh"
	}
	path, lookErr := exec.LookPath(bin)
	switch cfg.Resolver {
	case ResolveOpenSSH:
		if lookErr != nil {
			return "", fmt.Errorf("--ssh-resolve openssh: %w (install the OpenSSH client or use --ssh-resolve builtin)", lookErr)
		}
		return path, nil
	}
	if parseErr == nil && !usesMatch(files, 0) {
		return "", nil
	}
	if lookErr != nil {
		if parseErr != nil {
			return "", fmt.Errorf("%w (OpenSSH's ssh, which would resolve it, is not installed: %v)", parseErr, lookErr)
		}
		// Match blocks and no ssh: the parser evaluates Match host/all on
		// the alias, which is the best there is.
		return "", nil
	}
	return path, nil
}

var (
	matchLine   = regexp.MustCompile(`(?im)^[ \t]*match[ \t=]`)
	includeLine = regexp.MustCompile(`(?im)^[ \t]*include[ \t=]+(.+)$`)
)

// usesMatch reports whether any file, or a file it Includes, has a Match
// block. Include paths are relative to ~/.ssh, as for the user's config.
func usesMatch(files []string, depth int) bool {
	if depth > 16 {
		return true // an Include loop: let OpenSSH report it
	}
	home, _ := os.UserHomeDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if matchLine.Match(data) {
			return true
		}
		for _, m := range includeLine.FindAllSubmatch(data, -1) {
			for _, pat := range strings.Fields(string(m[1])) {
				pat = strings.Trim(pat, `"`)
				if pat == "~" || strings.HasPrefix(pat, "~/") {
					pat = home + pat[1:]
				} else if !filepath.IsAbs(pat) {
					pat = filepath.Join(home, ".ssh", pat)
				}
				inc, _ := filepath.Glob(pat)
				if usesMatch(inc, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// resolveOpenSSH asks `ssh -G` how the operator's ssh would reach name.
func (c *Client) resolveOpenSSH(name string) (*endpoint, error) {
	usr, host, port, err := splitHostSpec(name)
	if err != nil {
		return nil, fmt.Errorf("resolve host %q: %w", name, err)
	}
	args := []string{"-G"}
	if c.cfg.SSHConfig != "" {
		args = append(args, "-F", c.cfg.SSHConfig)
	}
	if usr != "" {
		args = append(args, "-l", usr)
	}
	if port != 0 {
		args = append(args, "-p", strconv.Itoa(port))
	}
	args = append(args, "--", host)
	ctx, cancel := context.WithTimeout(context.Background(), sshGTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.sshG, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var lines []string
		for _, l := range strings.Split(stderr.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Pseudo-terminal will not be allocated") {
				lines = append(lines, l)
			}
		}
		msg := untrusted.SanitizeLine(strings.Join(lines, "; "))
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("resolve host %q with ssh -G: %s", name, msg)
	}
	return parseSSHG(out, host, usr, c.cfg.User)
}

// defaultIdentities are the IdentityFile lines ssh -G prints when none is
// configured; they mean "nothing configured" (auth then tries ~/.ssh/id_*
// itself, as the built-in path does).
var defaultIdentities = map[string]bool{
	"~/.ssh/id_rsa": true, "~/.ssh/id_ecdsa": true, "~/.ssh/id_ecdsa_sk": true, "~/.ssh/id_ed25519": true,
	"~/.ssh/id_ed25519_sk": true, "~/.ssh/id_xmss": true, "~/.ssh/id_dsa": true,
}

// parseSSHG reads ssh -G's "keyword value" lines into an endpoint with the
// built-in resolver's conventions, so both paths mean the same thing:
// settings ssh -G always prints with their default (user, known hosts
// files, identities, StrictHostKeyChecking ask) count as unset.
func parseSSHG(out []byte, alias, givenUser, fallbackUser string) (*endpoint, error) {
	ep := &endpoint{Alias: alias, HostName: alias, Port: 22}
	var ids []string
	custom := false
	home, _ := os.UserHomeDir()
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		home = u.HomeDir // ssh expands ~ from the password database, not $HOME
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "user":
			ep.User = val
		case "hostname":
			ep.HostName = val
		case "port":
			p, err := strconv.Atoi(val)
			if err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("resolve host %q with ssh -G: bad port %q", alias, val)
			}
			ep.Port = p
		case "identityfile":
			ids = append(ids, val)
			custom = custom || !defaultIdentities[val]
		case "identitiesonly":
			ep.IdentitiesOnly = val == "yes"
		case "proxyjump":
			if !strings.EqualFold(val, "none") {
				for _, hop := range strings.Split(val, ",") {
					if hop = strings.TrimSpace(hop); hop != "" {
						ep.Jumps = append(ep.Jumps, hop)
					}
				}
			}
		case "proxycommand":
			if !strings.EqualFold(val, "none") {
				ep.ProxyCommand = val
			}
		case "connecttimeout":
			if n, err := strconv.Atoi(val); err == nil && n > 0 {
				ep.ConnectTimeout = time.Duration(n) * time.Second
			}
		case "stricthostkeychecking":
			switch val {
			case "true", "yes":
				ep.Strict = "yes"
			case "false", "no", "off":
				ep.Strict = "no"
			case "accept-new":
				ep.Strict = "accept-new"
			}
			// "ask" is what ssh -G prints when nothing is set: unset.
		case "userknownhostsfile":
			files := strings.Fields(val)
			def := []string{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"}
			if strings.Join(files, " ") == strings.Join(def, " ") {
				continue
			}
			for _, f := range files {
				if f != "/dev/null" {
					ep.KnownHosts = append(ep.KnownHosts, expandTokens(f, ep))
				}
			}
		case "hostkeyalias":
			ep.HostKeyAlias = val
		}
	}
	if len(ep.Jumps) > 0 {
		ep.ProxyCommand = ""
	}
	if custom {
		for _, f := range ids {
			ep.Identities = append(ep.Identities, expandTokens(f, ep))
		}
	}
	// ssh -G prints the local user when nothing names one; the transport's
	// --user default applies then (a config naming the local user
	// explicitly is indistinguishable, and means the same on this machine).
	if givenUser == "" && ep.User == localUser() && fallbackUser != "" {
		ep.User = fallbackUser
	}
	return ep, nil
}
