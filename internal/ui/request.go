package ui

import (
	"context"
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"
)

// ErrDeclined is the answer to a request the operator refused or cancelled.
var ErrDeclined = errors.New("declined by the operator")

// RequestKind says what the transport needs from the operator.
type RequestKind uint8

const (
	// RequestSecret asks for a sudo password, key passphrase or password.
	RequestSecret RequestKind = iota
	// RequestHostKey asks whether to trust an unknown host key.
	RequestHostKey
)

// Request is a question from the transport (internal/ssh callbacks), asked
// while a command waits. Secrets are shown masked and never stored: the
// reply carries them once and the input is cleared.
type Request struct {
	Kind        RequestKind
	Title       string // "sudo password for root@flink-a"
	Host        string
	Fingerprint string // host key: "SHA256:…"
	KeyType     string // host key: "ssh-ed25519"
	reply       chan reply
}

type reply struct {
	secret []byte
	ok     bool
	err    error
}

type requestMsg struct{ req *Request }

// Requests bridges transport callbacks into the TUI. The callbacks run on
// executor goroutines and block until the operator answers in the TUI.
type Requests struct {
	ch   chan *Request
	done chan struct{}
}

// NewRequests returns a bridge; pass it in Config.Requests.
func NewRequests() *Requests {
	return &Requests{ch: make(chan *Request), done: make(chan struct{})}
}

// Close makes pending and later asks fail (the TUI has ended).
func (r *Requests) Close() {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
}

func (r *Requests) ask(ctx context.Context, q *Request) (reply, error) {
	q.reply = make(chan reply, 1)
	select {
	case r.ch <- q:
	case <-r.done:
		return reply{}, fmt.Errorf("%s: %w (the TUI has ended)", q.Title, ErrDeclined)
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
	select {
	case a := <-q.reply:
		return a, a.err
	case <-r.done:
		return reply{}, fmt.Errorf("%s: %w (the TUI has ended)", q.Title, ErrDeclined)
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// Secret asks for a secret (masked input). The caller must not keep it
// longer than needed.
func (r *Requests) Secret(ctx context.Context, title, host string) ([]byte, error) {
	a, err := r.ask(ctx, &Request{Kind: RequestSecret, Title: title, Host: host})
	if err != nil {
		return nil, err
	}
	return a.secret, nil
}

// HostKey asks whether to trust an unknown host key, showing its SHA256
// fingerprint.
func (r *Requests) HostKey(ctx context.Context, host, keyType, fingerprint string) (bool, error) {
	a, err := r.ask(ctx, &Request{Kind: RequestHostKey, Title: "Unknown host key for " + host, Host: host, KeyType: keyType, Fingerprint: fingerprint})
	if err != nil {
		if errors.Is(err, ErrDeclined) {
			return false, nil
		}
		return false, err
	}
	return a.ok, nil
}

// waitCmd delivers the next request to Update.
func (r *Requests) waitCmd() tea.Cmd {
	if r == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case q := <-r.ch:
			return requestMsg{req: q}
		case <-r.done:
			return nil
		}
	}
}
