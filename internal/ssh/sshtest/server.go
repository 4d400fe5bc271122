package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// Response is how the server answers one command.
type Response struct {
	Stdout, Stderr string
	Exit           int
	Signal         string        // end with this signal (e.g. "KILL") instead of an exit status
	NoExit         bool          // close the channel without an exit status
	Delay          time.Duration // wait before answering (cut short by a signal or the remote timeout)
	Hang           bool          // never answer: until the client signals, closes, or the remote timeout
	Drop           bool          // close the whole connection (a crashed host or network)
}

// Request is one exec request as the server understood it.
type Request struct {
	User    string
	Raw     string              // the command line as received
	Command rbssh.RemoteCommand // Raw parsed back; Command.Script is what the engine rendered
	Stdin   io.Reader
}

// Handler answers a command; nil means "command not found" (exit 127).
type Handler func(r *Request) *Response

// Rule maps a regular expression over the script to a response.
type Rule struct {
	Match string
	Response
}

// Rules is a Handler answering with the first rule whose Match matches the
// script; it panics on a bad pattern (tests write them).
func Rules(rules ...Rule) Handler {
	res := make([]*regexp.Regexp, len(rules))
	for i, r := range rules {
		res[i] = regexp.MustCompile(r.Match)
	}
	return func(req *Request) *Response {
		for i, re := range res {
			if re.MatchString(req.Command.Script) {
				r := rules[i].Response
				return &r
			}
		}
		return nil
	}
}

// Options configure a Server.
type Options struct {
	Handler Handler
	// Root is the directory served over SFTP as "/"; empty disables SFTP.
	Root string
	// AuthorizedKeys may log in (any user name). Password, when set, also works.
	AuthorizedKeys []gossh.PublicKey
	Password       string
	// SudoPassword, when set, makes `sudo -n` fail as on a host where the
	// account needs a password; `sudo -S` must then send it on stdin.
	SudoPassword string
	// MaxSessions per connection (default 10, as OpenSSH); more are refused.
	MaxSessions int
	// HostKey; generated (ed25519) when nil. ExtraHostKeys are offered too
	// (e.g. an ECDSA key, or a certificate signer).
	HostKey       gossh.Signer
	ExtraHostKeys []gossh.Signer
	// AllowForwarding accepts direct-tcpip channels to loopback addresses,
	// so the server can be a ProxyJump hop.
	AllowForwarding bool
	// Now is the host's clock for `date +%s` (default time.Now).
	Now func() time.Time
}

// Server is an SSH+SFTP server on 127.0.0.1:0.
type Server struct {
	opts Options
	ln   net.Listener
	conf *gossh.ServerConfig

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	frozen chan struct{} // non-nil while Freeze is on: reads and writes block
	closed chan struct{}
	wg     sync.WaitGroup

	accepted     atomic.Int64
	sessions     atomic.Int64
	peakSessions atomic.Int64
	execs        atomic.Int64
}

// NewServer starts a server on a free loopback port.
func NewServer(opts Options) (*Server, error) {
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HostKey == nil {
		s, err := NewSigner()
		if err != nil {
			return nil, err
		}
		opts.HostKey = s
	}
	s := &Server{opts: opts, conns: map[net.Conn]struct{}{}, closed: make(chan struct{})}
	s.conf = &gossh.ServerConfig{
		PublicKeyCallback: func(meta gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
			for _, k := range opts.AuthorizedKeys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return &gossh.Permissions{}, nil
				}
			}
			return nil, fmt.Errorf("key %s not authorized", gossh.FingerprintSHA256(key))
		},
	}
	if opts.Password != "" {
		s.conf.PasswordCallback = func(meta gossh.ConnMetadata, pw []byte) (*gossh.Permissions, error) {
			if string(pw) == opts.Password {
				return &gossh.Permissions{}, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	s.conf.AddHostKey(opts.HostKey)
	for _, k := range opts.ExtraHostKeys {
		s.conf.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sshtest: listen: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// NewSigner generates an ed25519 key.
func NewSigner() (gossh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return gossh.NewSignerFromKey(priv)
}

// Addr is host:port of the listener.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port of the listener.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// HostKey is the server's public host key.
func (s *Server) HostKey() gossh.PublicKey { return s.opts.HostKey.PublicKey() }

// KnownHostsLine is the known_hosts line for this server ([127.0.0.1]:port key).
func (s *Server) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.Port(), strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.HostKey()))))
}

// SetHandler replaces the command handler.
func (s *Server) SetHandler(h Handler) {
	s.mu.Lock()
	s.opts.Handler = h
	s.mu.Unlock()
}

// Accepted counts TCP connections accepted so far (re-dials show here).
func (s *Server) Accepted() int { return int(s.accepted.Load()) }

// PeakSessions is the most sessions ever open at once on one connection... or
// across connections: it counts all open session channels.
func (s *Server) PeakSessions() int { return int(s.peakSessions.Load()) }

// Execs counts exec requests served.
func (s *Server) Execs() int { return int(s.execs.Load()) }

// Freeze makes the server stop reading and writing on every connection,
// as a host that vanished from the network: TCP stays up, nothing answers.
func (s *Server) Freeze() {
	s.mu.Lock()
	if s.frozen == nil {
		s.frozen = make(chan struct{})
	}
	s.mu.Unlock()
}

// Thaw undoes Freeze.
func (s *Server) Thaw() {
	s.mu.Lock()
	if s.frozen != nil {
		close(s.frozen)
		s.frozen = nil
	}
	s.mu.Unlock()
}

// DropAll closes every connection, as a restarted host.
func (s *Server) DropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops the server and closes every connection.
func (s *Server) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	err := s.ln.Close()
	s.Thaw()
	s.DropAll()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		fc := &freezeConn{Conn: nc, s: s}
		s.mu.Lock()
		s.conns[nc] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(fc)
			nc.Close()
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

// freezeConn blocks I/O while the server is frozen.
type freezeConn struct {
	net.Conn
	s *Server
}

func (c *freezeConn) wait() {
	c.s.mu.Lock()
	f := c.s.frozen
	c.s.mu.Unlock()
	if f != nil {
		select {
		case <-f:
		case <-c.s.closed:
		}
	}
}

func (c *freezeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.wait()
	return n, err
}

func (c *freezeConn) Write(p []byte) (int, error) {
	c.wait()
	return c.Conn.Write(p)
}

func (s *Server) serveConn(nc net.Conn) {
	sc, chans, reqs, err := gossh.NewServerConn(nc, s.conf)
	if err != nil {
		return
	}
	defer sc.Close()
	go gossh.DiscardRequests(reqs) // keepalives get "failure", as OpenSSH answers unknown requests
	// Session slots. OpenSSH handles a channel close before the next open
	// on the same connection; our goroutines may see them in the other
	// order, so an open at the cap waits briefly for a slot before refusal.
	slots := make(chan struct{}, s.opts.MaxSessions)
	var wg sync.WaitGroup
	for nch := range chans {
		if nch.ChannelType() == "direct-tcpip" && s.opts.AllowForwarding {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.forward(nch)
			}()
			continue
		}
		if nch.ChannelType() != "session" {
			nch.Reject(gossh.UnknownChannelType, "only session channels")
			continue
		}
		if !s.takeSlot(slots) {
			nch.Reject(gossh.Prohibited, "too many sessions (MaxSessions "+strconv.Itoa(s.opts.MaxSessions)+")")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			<-slots
			continue
		}
		n := s.sessions.Add(1)
		for {
			p := s.peakSessions.Load()
			if n <= p || s.peakSessions.CompareAndSwap(p, n) {
				break
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { s.sessions.Add(-1); <-slots }()
			s.serveSession(sc, nc, ch, creqs)
		}()
	}
	wg.Wait()
}

func (s *Server) takeSlot(slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(500 * time.Millisecond)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

type exitStatusMsg struct{ Status uint32 }

type exitSignalMsg struct {
	Signal     string
	CoreDumped bool
	Errmsg     string
	Lang       string
}

type signalMsg struct{ Signal string }

func (s *Server) serveSession(sc *gossh.ServerConn, nc net.Conn, ch gossh.Channel, reqs <-chan *gossh.Request) {
	defer ch.Close()
	signals := make(chan string, 4)
	started := false
	done := make(chan struct{})
	gone := make(chan struct{}) // the client closed the channel
	for {
		var req *gossh.Request
		var ok bool
		select {
		case req, ok = <-reqs:
		case <-done:
			// The command finished; serve no more requests on this channel.
			go gossh.DiscardRequests(reqs)
			return
		}
		if !ok {
			close(gone)
			if started {
				<-done
			}
			return
		}
		switch req.Type {
		case "env":
			req.Reply(true, nil)
		case "signal":
			var m signalMsg
			if gossh.Unmarshal(req.Payload, &m) == nil {
				select {
				case signals <- m.Signal:
				default:
				}
			}
			req.Reply(true, nil)
		case "subsystem":
			var m struct{ Name string }
			if started || gossh.Unmarshal(req.Payload, &m) != nil || m.Name != "sftp" || s.opts.Root == "" {
				req.Reply(false, nil)
				continue
			}
			started = true
			req.Reply(true, nil)
			go func() {
				defer close(done)
				s.serveSFTP(ch)
			}()
		case "exec":
			var m struct{ Command string }
			if started || gossh.Unmarshal(req.Payload, &m) != nil {
				req.Reply(false, nil)
				continue
			}
			started = true
			req.Reply(true, nil)
			s.execs.Add(1)
			go func() {
				defer close(done)
				s.exec(sc, nc, ch, m.Command, signals, gone)
			}()
		default:
			req.Reply(false, nil)
		}
	}
}

func (s *Server) serveSFTP(ch gossh.Channel) {
	srv := sftp.NewRequestServer(ch, rootHandlers(s.opts.Root))
	_ = srv.Serve()
	srv.Close()
	sendExit(ch, 0)
}

func sendExit(ch gossh.Channel, status int) {
	_, _ = ch.SendRequest("exit-status", false, gossh.Marshal(exitStatusMsg{Status: uint32(status)}))
}

func sendSignal(ch gossh.Channel, sig string) {
	_, _ = ch.SendRequest("exit-signal", false, gossh.Marshal(exitSignalMsg{Signal: sig}))
}

// exec answers one command. Sudo, the wrapper's watchdog, the sftp-server
// and clock helpers of the Client are emulated as a real host would.
func (s *Server) exec(sc *gossh.ServerConn, nc net.Conn, ch gossh.Channel, line string, signals <-chan string, gone <-chan struct{}) {
	rc, stdin, err := rbssh.ReadRemoteCommand(line, ch)
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "sshtest: %v\n", err)
		sendExit(ch, 126)
		return
	}
	if rc.Nonce != "" {
		// What the wrapper prints once /bin/sh runs it.
		fmt.Fprintf(ch.Stderr(), "%s:start\n", rc.Nonce)
	}
	if rc.Sudo && s.opts.SudoPassword != "" {
		if !rc.SudoStdin {
			fmt.Fprintln(ch.Stderr(), "sudo: a password is required")
			sendExit(ch, 1)
			return
		}
		pw, rest, err := readLine(stdin)
		if err != nil || pw != s.opts.SudoPassword {
			fmt.Fprintln(ch.Stderr(), "sudo: 1 incorrect password attempt")
			sendExit(ch, 1)
			return
		}
		stdin = rest
	}
	if rbssh.IsSFTPServerScript(rc.Script) && s.opts.Root != "" {
		srv := sftp.NewRequestServer(struct {
			io.Reader
			io.WriteCloser
		}{stdin, ch}, rootHandlers(s.opts.Root))
		_ = srv.Serve()
		sendExit(ch, 0)
		return
	}
	s.mu.Lock()
	h := s.opts.Handler
	s.mu.Unlock()
	var resp *Response
	if h != nil {
		resp = h(&Request{User: sc.User(), Raw: line, Command: rc, Stdin: stdin})
	}
	if resp == nil && rbssh.IsClockScript(rc.Script) {
		resp = &Response{Stdout: strconv.FormatInt(s.opts.Now().Unix(), 10) + "\n"}
	}
	if resp == nil {
		fmt.Fprintf(ch.Stderr(), "sh: simulated host has no answer for: %s\n", rc.Script)
		sendExit(ch, 127)
		return
	}
	if resp.Hang || resp.Delay > 0 {
		// The wrapper's watchdog: stdin's EOF (the Client's timeout)
		// TERMs the command's process group, the wrapper with it.
		eof := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			close(eof)
		}()
		var delay <-chan time.Time
		if !resp.Hang {
			t := time.NewTimer(resp.Delay)
			defer t.Stop()
			delay = t.C
		}
		select {
		case <-delay:
		case <-eof:
			if rc.Nonce != "" {
				fmt.Fprintf(ch.Stderr(), "%s:stdin-eof\n", rc.Nonce)
			}
			sendSignal(ch, "TERM")
			return
		case sig := <-signals:
			sendSignal(ch, sig)
			return
		case <-gone:
			// A closed channel ends the command like a hung-up terminal.
			return
		case <-s.closed:
			return
		}
	}
	if resp.Drop {
		nc.Close()
		return
	}
	io.WriteString(ch, resp.Stdout)
	io.WriteString(ch.Stderr(), resp.Stderr)
	switch {
	case resp.NoExit:
	case resp.Signal != "":
		sendSignal(ch, resp.Signal)
	default:
		sendExit(ch, resp.Exit)
	}
}

// readLine reads one line byte by byte (so nothing after it is consumed)
// and returns it with the rest of r.
func readLine(r io.Reader) (string, io.Reader, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 4096 {
		if _, err := io.ReadFull(r, one); err != nil {
			return "", r, err
		}
		if one[0] == '\n' {
			return string(b), r, nil
		}
		b = append(b, one[0])
	}
	return "", r, errors.New("line too long")
}

// forward serves a direct-tcpip channel (ssh -J) to a loopback address.
func (s *Server) forward(nch gossh.NewChannel) {
	var m struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := gossh.Unmarshal(nch.ExtraData(), &m); err != nil {
		nch.Reject(gossh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	ip := net.ParseIP(m.Host)
	if m.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		nch.Reject(gossh.Prohibited, "sshtest forwards to loopback only")
		return
	}
	tc, err := net.Dial("tcp", net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port))))
	if err != nil {
		nch.Reject(gossh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		tc.Close()
		return
	}
	go gossh.DiscardRequests(reqs)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(tc, ch); tc.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(ch, tc); ch.CloseWrite(); done <- struct{}{} }()
	select {
	case <-done:
		<-done
	case <-s.closed:
	}
	ch.Close()
	tc.Close()
}
