package sshtest

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// Fleet is one Server per host of a scenario, sharing one Responder (so
// `times:` counts are per fleet), each with the scenario's files
// materialised under its own root directory.
type Fleet struct {
	s         *scenario.Scenario
	resp      *scenario.Responder
	dir       string
	key       gossh.Signer
	known     string
	servers   map[string]*Server
	client    *rbssh.Client
	clientErr error
}

// NewFleet starts the servers of s on loopback.
func NewFleet(s *scenario.Scenario) (*Fleet, error) {
	dir, err := os.MkdirTemp("", "runbook-fleet-")
	if err != nil {
		return nil, fmt.Errorf("sshtest: fleet dir: %w", err)
	}
	key, err := NewSigner()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f := &Fleet{s: s, resp: scenario.NewResponder(s), dir: dir, key: key, servers: map[string]*Server{}}
	var known strings.Builder
	for _, name := range s.HostNames() {
		root := filepath.Join(dir, "hosts", safeName(name), "root")
		if err := materialise(root, s.Hosts[name]); err != nil {
			f.Close()
			return nil, fmt.Errorf("sshtest: host %s: %w", name, err)
		}
		host := name
		srv, err := NewServer(Options{
			Root:           root,
			AuthorizedKeys: []gossh.PublicKey{key.PublicKey()},
			Handler: func(r *Request) *Response {
				c := f.resp.Respond(host, r.Command.Script)
				if c == nil {
					return nil
				}
				return &Response{Stdout: c.Stdout, Stderr: c.Stderr, Exit: c.Exit, Delay: c.Delay, Hang: c.Hang, Drop: c.Drop}
			},
		})
		if err != nil {
			f.Close()
			return nil, err
		}
		f.servers[name] = srv
		known.WriteString(srv.KnownHostsLine() + "\n")
	}
	f.known = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f.known, []byte(known.String()), 0o600); err != nil {
		f.Close()
		return nil, err
	}
	aliases := map[string]string{}
	for name, srv := range f.servers {
		aliases[name] = srv.Addr()
	}
	f.client, f.clientErr = rbssh.New(rbssh.Config{
		Signers:             []gossh.Signer{key},
		NoAgent:             true,
		NoDefaultIdentities: true,
		NoSSHConfig:         true,
		KnownHosts:          []string{f.known},
		HostKeyPolicy:       rbssh.PolicyStrict,
		Aliases:             aliases,
		User:                "root",
		HandshakeTimeout:    10 * time.Second,
	})
	if f.clientErr != nil {
		f.Close()
		return nil, f.clientErr
	}
	return f, nil
}

// Executor is the real SSH client, configured for this fleet: its client
// key, a known_hosts holding each server's host key (strict policy), and
// the scenario's host names mapped to the servers' addresses.
func (f *Fleet) Executor() engine.Executor { return f.client }

// Client is Executor with its concrete type.
func (f *Fleet) Client() *rbssh.Client { return f.client }

// Addr is host:port of the named host's server, or "".
func (f *Fleet) Addr(host string) string {
	if s := f.servers[host]; s != nil {
		return s.Addr()
	}
	return ""
}

// Server returns the named host's server, or nil.
func (f *Fleet) Server(host string) *Server { return f.servers[host] }

// KnownHosts is the path of the fleet's known_hosts file.
func (f *Fleet) KnownHosts() string { return f.known }

// ClientKey is the key the fleet's servers accept.
func (f *Fleet) ClientKey() gossh.Signer { return f.key }

// Root is the directory holding the named host's files.
func (f *Fleet) Root(host string) string {
	return filepath.Join(f.dir, "hosts", safeName(host), "root")
}

// Close stops the client and every server and removes the files.
func (f *Fleet) Close() error {
	var errs []error
	if f.client != nil {
		errs = append(errs, f.client.Close())
	}
	for _, s := range f.servers {
		errs = append(errs, s.Close())
	}
	errs = append(errs, os.RemoveAll(f.dir))
	return errors.Join(errs...)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// materialise writes a host's scenario files under root: content, mode,
// age (mtime) and symlinks, remote paths confined under root.
func materialise(root string, h *scenario.Host) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	now := time.Now()
	for _, p := range engine.SortedKeys(h.Files) {
		file := h.Files[p]
		clean := path.Clean("/" + p)
		dst := filepath.Join(root, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if file.Link != "" {
			if err := os.Symlink(file.Link, dst); err != nil {
				return fmt.Errorf("file %s: %w", p, err)
			}
			continue
		}
		mode := os.FileMode(file.Mode) & os.ModePerm
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(dst, file.Bytes(), mode); err != nil {
			return fmt.Errorf("file %s: %w", p, err)
		}
		if err := os.Chmod(dst, mode); err != nil {
			return err
		}
		mt := now.Add(-file.Age)
		if err := os.Chtimes(dst, mt, mt); err != nil {
			return fmt.Errorf("file %s: %w", p, err)
		}
	}
	return nil
}
