package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// dial connects to ep through its ProxyJump hops. Each hop is resolved
// through ssh_config like a host of its own and its key is checked under its
// own name, so a jump host cannot impersonate the target; hop connections
// are shared by every target behind them.
func (c *Client) dial(ctx context.Context, ep *endpoint) (*conn, error) {
	var jumps []*endpoint
	for _, j := range ep.Jumps {
		hop, err := c.resolve(j)
		if err != nil {
			return nil, fmt.Errorf("ProxyJump of %s: %w", ep.Alias, err)
		}
		jumps = append(jumps, hop)
	}
	var (
		prev *gossh.Client
		via  []string
		err  error
	)
	if len(jumps) > 0 {
		// Jump hosts are shared by every target behind them (fleet_dial.go).
		if prev, via, err = c.jumpClient(ctx, jumps); err != nil {
			return nil, err
		}
	}
	cl, err := c.dialHopRetry(ctx, prev, ep)
	if err != nil {
		return nil, &DialError{Host: ep.String(), Via: strings.Join(via, " -> "), Err: err}
	}
	return newConn(c, ep, []*gossh.Client{cl}), nil
}

// dialHop opens one SSH connection, over TCP or through prev. The deadline
// covers TCP connect, key exchange and authentication together: x/crypto's
// ClientConfig.Timeout covers only the TCP connect, so a port that accepts
// and never speaks SSH would otherwise hang forever.
func (c *Client) dialHop(ctx context.Context, prev *gossh.Client, ep *endpoint) (*gossh.Client, error) {
	timeout := c.cfg.HandshakeTimeout
	if ep.ConnectTimeout > 0 {
		timeout = ep.ConnectTimeout
	}
	// Identities first, outside the deadline: a passphrase prompt waits for
	// a person, and decrypting the key (bcrypt KDF) takes its own time.
	plan := c.authFor(ep)
	defer plan.close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		nc  net.Conn
		err error
	)
	switch {
	case prev == nil && ep.ProxyCommand != "":
		nc, err = dialProxyCommand(ep)
	case prev == nil:
		d := net.Dialer{KeepAlive: 15 * time.Second}
		nc, err = d.DialContext(hctx, "tcp", ep.addr())
	default:
		nc, err = prev.DialContext(hctx, "tcp", ep.addr())
	}
	if err != nil {
		if ctx.Err() == nil && hctx.Err() != nil {
			return nil, fmt.Errorf("%w: TCP connect did not finish within %s", ErrHandshakeTimeout, timeout)
		}
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	// Closing the socket is the only deadline that works for every conn
	// type (channels through a jump host do not support SetDeadline).
	stop := context.AfterFunc(hctx, func() { nc.Close() })

	hk, err := c.hostKeysFor(ep)
	if err != nil {
		stop()
		nc.Close()
		return nil, err
	}
	conf := &gossh.ClientConfig{
		User:              ep.User,
		Auth:              plan.methods,
		HostKeyCallback:   hk.callback(c, ep.keyName(), effectivePolicy(c.cfg.HostKeyPolicy, ep.Strict), c.recordHostKey),
		HostKeyAlgorithms: hk.algorithms(ep.keyName()),
		Timeout:           timeout,
	}
	sc, chans, reqs, err := gossh.NewClientConn(nc, ep.addr(), conf)
	if !stop() {
		// The deadline or the caller's context closed the socket.
		if sc != nil {
			sc.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: no SSH handshake within %s (is this port an SSH server?)", ErrHandshakeTimeout, timeout)
	}
	if err != nil {
		nc.Close()
		var changed *HostKeyChangedError
		var unknown *UnknownHostError
		switch {
		case errors.As(err, &changed):
			return nil, changed
		case errors.As(err, &unknown):
			return nil, unknown
		case errors.Is(err, ErrHostKeyRevoked):
			return nil, err
		case strings.Contains(err.Error(), "unable to authenticate"):
			// x/crypto has no typed error for this; the text is its own.
			return nil, &AuthError{User: ep.User, Host: ep.addr(), Tried: plan.offered, Notes: plan.notes, Err: err}
		}
		return nil, err
	}
	return gossh.NewClient(sc, chans, reqs), nil
}

// hostKeysFor picks the known_hosts files for ep: --known-hosts (Config)
// wins, else ssh_config's UserKnownHostsFile, else the defaults.
func (c *Client) hostKeysFor(ep *endpoint) (*hostKeys, error) {
	if c.explicitKnownHosts || len(ep.KnownHosts) == 0 {
		return c.hk, nil
	}
	key := strings.Join(ep.KnownHosts, "\x00")
	c.mu.Lock()
	defer c.mu.Unlock()
	if hk := c.hkByFiles[key]; hk != nil {
		return hk, nil
	}
	hk, err := newHostKeys(ep.KnownHosts)
	if err != nil {
		return nil, err
	}
	c.hkByFiles[key] = hk
	return hk, nil
}

// recordHostKey keeps the key a handshake verified, by the name it was
// checked under.
func (c *Client) recordHostKey(info HostKeyInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verified == nil {
		c.verified = map[string]HostKeyInfo{}
	}
	c.verified[info.Host] = info
}

// HostKey reports the host key verified for a host (as the engine names
// it: alias, user@host:port, ssh://...) on its last connection, and how it
// was trusted; false when no connection to it has been made.
func (c *Client) HostKey(name string) (HostKeyInfo, bool) {
	ep, err := c.resolve(name)
	if err != nil {
		return HostKeyInfo{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.verified[ep.keyName()]
	return info, ok
}
