package ssh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// conn is one pooled SSH connection (plus the jump host connections under
// it). Sessions are capped by sem; dead closes when the connection is gone,
// and the pool then dials a new one for the next step.
type conn struct {
	c       *Client
	ep      *endpoint
	client  *gossh.Client   // the target
	clients []*gossh.Client // jump hosts first, target last
	sem     chan struct{}
	dead    chan struct{}

	once sync.Once
	mu   sync.Mutex
	err  error // why it died
	// open counts our sessions open on the server; ended is closed (and
	// cleared) when one ends, for opens the server refused meanwhile.
	open  int
	ended chan struct{}
	// clock is the remote clock minus ours, measured once for `since`.
	clock    time.Duration
	clockSet bool
}

func newConn(c *Client, ep *endpoint, clients []*gossh.Client) *conn {
	cn := &conn{
		c: c, ep: ep, clients: clients, client: clients[len(clients)-1],
		sem:  make(chan struct{}, c.cfg.MaxSessions),
		dead: make(chan struct{}),
	}
	go func() {
		err := cn.client.Wait()
		if err == nil {
			err = errors.New("closed by the server")
		}
		cn.fail(fmt.Errorf("%w: %v", ErrConnectionLost, err))
	}()
	go cn.keepalive(c.cfg.KeepaliveInterval, c.cfg.KeepaliveMax)
	return cn
}

// fail marks the connection dead with err (the first reason wins) and
// closes it, which ends every session and transfer on it.
func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.mu.Lock()
		cn.err = err
		cn.mu.Unlock()
		close(cn.dead)
		for i := len(cn.clients) - 1; i >= 0; i-- {
			cn.clients[i].Close()
		}
	})
}

func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

// deadErr is why the connection died, or nil.
func (cn *conn) deadErr() error {
	if !cn.isDead() {
		return nil
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// probe checks the connection with one keepalive request (bounded by the
// keepalive interval) and returns why it is dead, or nil when it answers.
func (cn *conn) probe() error {
	if err := cn.deadErr(); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() {
		_, _, err := cn.client.SendRequest("keepalive@openssh.com", true, nil)
		ch <- err
	}()
	t := time.NewTimer(cn.c.cfg.KeepaliveInterval)
	defer t.Stop()
	select {
	case err := <-ch:
		if err != nil {
			cn.fail(fmt.Errorf("%w: %v", ErrConnectionLost, err))
			return cn.deadErr()
		}
		return nil
	case <-cn.dead:
		return cn.deadErr()
	case <-t.C:
		cn.fail(fmt.Errorf("%w (no answer within %s)", ErrHostDead, cn.c.cfg.KeepaliveInterval))
		return cn.deadErr()
	}
}

// keepalive sends keepalive@openssh.com every interval; a request still
// unanswered at the next tick is a miss, and max misses in a row declare
// the host dead. Any reply (even "unsupported") proves it alive.
func (cn *conn) keepalive(interval time.Duration, max int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var pending chan error
	misses := 0
	for {
		select {
		case <-cn.dead:
			return
		case <-t.C:
		}
		if pending != nil {
			select {
			case err := <-pending:
				pending = nil
				if err != nil {
					cn.fail(fmt.Errorf("%w: keepalive: %v", ErrConnectionLost, err))
					return
				}
				misses = 0
			default:
				misses++
				if misses >= max {
					cn.fail(fmt.Errorf("%w (%d missed, every %s)", ErrHostDead, misses, interval))
					return
				}
				continue
			}
		}
		ch := make(chan error, 1)
		go func() {
			_, _, err := cn.client.SendRequest("keepalive@openssh.com", true, nil)
			ch <- err
		}()
		pending = ch
	}
}

// acquire takes one of the connection's session slots, queueing behind
// others when all are busy.
func (cn *conn) acquire(ctx context.Context) (func(), error) {
	select {
	case cn.sem <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-cn.sem }) }, nil
	case <-cn.dead:
		return nil, cn.deadErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pool holds one connection per host name.
type pool struct {
	mu    sync.Mutex
	conns map[string]*poolEntry
}

type poolEntry struct {
	ready chan struct{}
	cn    *conn
	err   error
}

// get returns the live connection for name, dialling when there is none or
// the last one broke. Concurrent callers share one dial.
func (c *Client) get(ctx context.Context, name string) (*conn, error) {
	for range 3 {
		c.pool.mu.Lock()
		if c.closed {
			c.pool.mu.Unlock()
			return nil, errors.New("ssh client closed")
		}
		e := c.pool.conns[name]
		if e == nil {
			e = &poolEntry{ready: make(chan struct{})}
			c.pool.conns[name] = e
			c.pool.mu.Unlock()
			e.cn, e.err = c.dialName(ctx, name)
			close(e.ready)
			if e.err != nil {
				c.pool.mu.Lock()
				if c.pool.conns[name] == e {
					delete(c.pool.conns, name)
				}
				c.pool.mu.Unlock()
			}
			return e.cn, e.err
		}
		c.pool.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
				continue // another caller gave up; dial for ourselves
			}
			return nil, e.err
		}
		if !e.cn.isDead() {
			return e.cn, nil
		}
		c.pool.mu.Lock()
		if c.pool.conns[name] == e {
			delete(c.pool.conns, name)
		}
		c.pool.mu.Unlock()
	}
	return nil, fmt.Errorf("connect to %s: connection keeps breaking", name)
}

func (c *Client) dialName(ctx context.Context, name string) (*conn, error) {
	ep, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	return c.dial(ctx, ep)
}

// session opens a session on name's connection, re-dialling once when the
// pooled connection turns out to be broken (nothing ran yet, so retrying
// is safe).
func (c *Client) session(ctx context.Context, name string) (*conn, *gossh.Session, func(), error) {
	var lastErr error
	for range 2 {
		cn, err := c.get(ctx, name)
		if err != nil {
			return nil, nil, nil, err
		}
		release, err := cn.acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, err
			}
			lastErr = err
			continue
		}
		s, release, err := cn.newSession(ctx, release)
		if err == nil {
			return cn, s, release, nil
		}
		release()
		var oce *gossh.OpenChannelError
		if errors.As(err, &oce) || ctx.Err() != nil {
			return nil, nil, nil, fmt.Errorf("open session: %w", err)
		}
		cn.fail(fmt.Errorf("%w: open session: %v", ErrConnectionLost, err))
		lastErr = err
	}
	return nil, nil, nil, fmt.Errorf("open session: %w", lastErr)
}

// Session open retries: a server at its MaxSessions refuses the channel
// ("open failed"), and a session that just ended may still count there for
// a moment. Waiting for one of ours to end is progress; backing off when
// none of ours is open is bounded by sessionRetries, doubling to 1 s.
const (
	sessionRetries      = 30
	sessionWaits        = 10000
	sessionBackoffStart = 20 * time.Millisecond
	sessionBackoffMax   = time.Second
)

// newSession opens a session channel for a caller holding a slot, and
// returns the release that frees both. When the server refuses while
// sessions of ours are open, it waits for one to end and retries; when
// none is open, it backs off and retries.
func (cn *conn) newSession(ctx context.Context, release func()) (*gossh.Session, func(), error) {
	backoff := sessionBackoffStart
	retries := 0
	var err error
	for range sessionWaits {
		var s *gossh.Session
		s, err = cn.client.NewSession()
		cn.mu.Lock()
		if err == nil {
			cn.open++
			cn.mu.Unlock()
			var once sync.Once
			return s, func() {
				once.Do(func() {
					cn.mu.Lock()
					cn.open--
					if cn.ended != nil {
						close(cn.ended)
						cn.ended = nil
					}
					cn.mu.Unlock()
					release()
				})
			}, nil
		}
		var oce *gossh.OpenChannelError
		if !errors.As(err, &oce) || oce.Reason != gossh.ConnectionFailed && oce.Reason != gossh.ResourceShortage {
			cn.mu.Unlock()
			return nil, release, err
		}
		var wait <-chan struct{}
		var t *time.Timer
		if cn.open > 0 {
			if cn.ended == nil {
				cn.ended = make(chan struct{})
			}
			wait = cn.ended
		} else {
			if retries++; retries > sessionRetries {
				cn.mu.Unlock()
				break
			}
			t = time.NewTimer(backoff)
			wait = nil
			backoff = min(2*backoff, sessionBackoffMax)
		}
		cn.mu.Unlock()
		var tc <-chan time.Time
		if t != nil {
			tc = t.C
		}
		select {
		case <-wait:
		case <-tc:
		case <-ctx.Done():
			err = ctx.Err()
		case <-cn.dead:
			err = cn.deadErr()
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil || cn.isDead() {
			return nil, release, err
		}
	}
	return nil, release, fmt.Errorf("server kept refusing new sessions (its MaxSessions?): %w", err)
}
