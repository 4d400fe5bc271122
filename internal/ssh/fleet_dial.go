package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Dialling many hosts at once, as a fleet needs it:
//
//   - Jump hosts are shared: every target behind the same ProxyJump chain
//     rides one connection to each hop (OpenSSH's -J opens one per target,
//     and a bastion with the default MaxStartups 10:30:100 then drops them).
//   - Handshakes to one address are limited (handshakesPerAddr at a time),
//     so a fleet behind one sshd does not trip its MaxStartups either.
//   - A handshake the server dropped before it began (connection reset, EOF
//     before the version exchange: what MaxStartups does) is retried with
//     jittered backoff, a bounded number of times.

const (
	handshakesPerAddr = 6 // under OpenSSH's MaxStartups start of 10, with a margin
	handshakeRetries  = 4
	retryBase         = 150 * time.Millisecond
)

// jumpEntry is one shared connection to a jump host (a chain prefix).
type jumpEntry struct {
	ready  chan struct{}
	client *gossh.Client
	err    error
}

// fleetState is the Client's shared dialling state.
type fleetState struct {
	mu     sync.Mutex
	jumps  map[string]*jumpEntry
	limits map[string]chan struct{}
	closed bool
}

// jumpClient returns the shared connection to the last hop of chain,
// dialling (once, for all callers) every hop not connected yet.
func (c *Client) jumpClient(ctx context.Context, chain []*endpoint) (*gossh.Client, []string, error) {
	var prev *gossh.Client
	var via []string
	for i, hop := range chain {
		key := chainKey(chain[:i+1])
		cl, err := c.sharedHop(ctx, key, prev, hop)
		if err != nil {
			return nil, via, &DialError{Host: hop.String(), Via: strings.Join(via, " -> "), Err: err}
		}
		prev = cl
		via = append(via, hop.String())
	}
	return prev, via, nil
}

func chainKey(chain []*endpoint) string {
	parts := make([]string, len(chain))
	for i, ep := range chain {
		parts[i] = ep.String()
	}
	return strings.Join(parts, " -> ")
}

func (c *Client) sharedHop(ctx context.Context, key string, prev *gossh.Client, hop *endpoint) (*gossh.Client, error) {
	f := &c.fleet
	for range 3 { // a shared hop that died is dialled again, bounded
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return nil, errors.New("ssh client closed")
		}
		if f.jumps == nil {
			f.jumps = map[string]*jumpEntry{}
		}
		e := f.jumps[key]
		if e == nil {
			e = &jumpEntry{ready: make(chan struct{})}
			f.jumps[key] = e
			f.mu.Unlock()
			e.client, e.err = c.dialHopRetry(ctx, prev, hop)
			if e.err != nil {
				f.mu.Lock()
				delete(f.jumps, key)
				f.mu.Unlock()
			} else {
				go func(e *jumpEntry) { // forget it when it dies
					_ = e.client.Wait()
					f.mu.Lock()
					if f.jumps[key] == e {
						delete(f.jumps, key)
					}
					f.mu.Unlock()
				}(e)
			}
			close(e.ready)
			return e.client, e.err
		}
		f.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.client, nil
		}
		if !errors.Is(e.err, context.Canceled) && !errors.Is(e.err, context.DeadlineExceeded) {
			return nil, e.err
		}
		// The caller that dialled gave up; try for ourselves.
	}
	return nil, fmt.Errorf("jump host %s: connection keeps breaking", hop)
}

// closeJumps closes every shared jump connection (Client.Close).
func (c *Client) closeJumps() {
	f := &c.fleet
	f.mu.Lock()
	f.closed = true
	jumps := f.jumps
	f.jumps = nil
	f.mu.Unlock()
	for _, e := range jumps {
		<-e.ready
		if e.client != nil {
			e.client.Close()
		}
	}
}

// handshakeSlot limits concurrent handshakes to one address.
func (c *Client) handshakeSlot(ctx context.Context, addr string) (func(), error) {
	f := &c.fleet
	f.mu.Lock()
	if f.limits == nil {
		f.limits = map[string]chan struct{}{}
	}
	sem := f.limits[addr]
	if sem == nil {
		sem = make(chan struct{}, handshakesPerAddr)
		f.limits[addr] = sem
	}
	f.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dialHopRetry is dialHop with a handshake slot and retries of drops.
func (c *Client) dialHopRetry(ctx context.Context, prev *gossh.Client, ep *endpoint) (*gossh.Client, error) {
	var err error
	for attempt := range handshakeRetries + 1 {
		if attempt > 0 {
			// Full jitter: a fleet retrying in step would be dropped again.
			d := time.Duration(rand.Int64N(int64(retryBase) << attempt))
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		var release func()
		release, err = c.handshakeSlot(ctx, ep.addr())
		if err != nil {
			return nil, err
		}
		var cl *gossh.Client
		cl, err = c.dialHop(ctx, prev, ep)
		release()
		if err == nil || !droppedBeforeHandshake(err) || ctx.Err() != nil {
			return cl, err
		}
	}
	return nil, fmt.Errorf("%w (dropped %d times: the server's MaxStartups?)", err, handshakeRetries+1)
}

// droppedBeforeHandshake: the server closed or reset the connection before
// or during key exchange, as sshd does to connections over MaxStartups.
// Authentication and host-key failures are never retried.
func droppedBeforeHandshake(err error) bool {
	var auth *AuthError
	var changed *HostKeyChangedError
	var unknown *UnknownHostError
	if errors.As(err, &auth) || errors.As(err, &changed) || errors.As(err, &unknown) || errors.Is(err, ErrHandshakeTimeout) {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "handshake failed: EOF") || strings.Contains(msg, "connection reset by peer")
}
