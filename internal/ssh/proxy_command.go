package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// expandProxyCommand replaces ssh_config's tokens in a ProxyCommand as
// OpenSSH does: %h host name, %p port, %r remote user, %n the host as the
// operator named it, %% a percent sign. An unknown token is an error, not
// text passed to a shell.
func expandProxyCommand(cmd string, ep *endpoint) (string, error) {
	var b strings.Builder
	for i := 0; i < len(cmd); i++ {
		if cmd[i] != '%' {
			b.WriteByte(cmd[i])
			continue
		}
		if i+1 == len(cmd) {
			return "", fmt.Errorf("ProxyCommand %q: ends in a lone %%", cmd)
		}
		i++
		switch cmd[i] {
		case 'h':
			b.WriteString(ep.HostName)
		case 'p':
			b.WriteString(strconv.Itoa(ep.Port))
		case 'r':
			b.WriteString(ep.User)
		case 'n':
			b.WriteString(ep.Alias)
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("ProxyCommand %q: token %%%c is not supported (use %%h %%p %%r %%n %%%%)", cmd, cmd[i])
		}
	}
	return b.String(), nil
}

// dialProxyCommand starts ep's ProxyCommand (through /bin/sh, as OpenSSH
// does; `exec` keeps it one process) and speaks SSH over its stdin and
// stdout: `tsh proxy ssh`, `aws ssm start-session`, `ssh -W %h:%p bastion`,
// or any jump script. The process runs in its own process group, killed
// when the connection closes.
func dialProxyCommand(ep *endpoint) (net.Conn, error) {
	line, err := expandProxyCommand(ep.ProxyCommand, ep)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", "exec "+line)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Plain pipes, not cmd.StdoutPipe: Wait closes those as soon as the
	// process exits, so the last bytes (and the EOF) would be lost.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	pc := &proxyConn{cmd: cmd, stdin: inW, stdout: outR, line: line, exited: make(chan struct{})}
	cmd.Stderr = &pc.stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start ProxyCommand %q: %w", line, err)
	}
	go func() {
		pc.waitErr = cmd.Wait()
		close(pc.exited)
	}()
	return pc, nil
}

// proxyConn is a net.Conn over a ProxyCommand's stdio.
type proxyConn struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.ReadCloser
	line    string
	stderr  limitedBuffer
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

var _ net.Conn = (*proxyConn)(nil)

func (c *proxyConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err == io.EOF && n == 0 {
		return 0, c.exitError()
	}
	return n, err
}

// Write fails when the proxy has gone; then its exit and stderr say why
// (the SSH version line is written first, often before anything is read).
func (c *proxyConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil {
		if perr := c.exitError(); perr != io.EOF {
			return n, perr
		}
	}
	return n, err
}

// exitError says why the proxy's stdout ended, with what it printed on
// stderr (bounded): "ProxyCommand ... exited 255: ssh: connect to host ...".
func (c *proxyConn) exitError() error {
	select {
	case <-c.exited:
	case <-time.After(2 * time.Second):
		return io.EOF
	}
	msg := strings.TrimSpace(c.stderr.String())
	var ee *exec.ExitError
	switch {
	case errors.As(c.waitErr, &ee) && msg != "":
		return fmt.Errorf("ProxyCommand %q exited %d: %s", c.line, ee.ExitCode(), msg)
	case errors.As(c.waitErr, &ee):
		return fmt.Errorf("ProxyCommand %q exited %d", c.line, ee.ExitCode())
	case msg != "":
		return fmt.Errorf("ProxyCommand %q closed the connection: %s", c.line, msg)
	}
	return io.EOF
}

// Close ends the proxy: stdin closed (a well-behaved proxy exits), then
// its process group is terminated, killed if it lingers.
func (c *proxyConn) Close() error {
	c.once.Do(func() {
		c.stdin.Close()
		defer c.stdout.Close()
		pgid := c.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-c.exited
		}
	})
	return nil
}

func (c *proxyConn) LocalAddr() net.Addr  { return proxyAddr(c.line) }
func (c *proxyConn) RemoteAddr() net.Addr { return proxyAddr(c.line) }

// Deadlines are not supported by pipes; dialHop closes the connection to
// enforce its handshake deadline instead.
func (c *proxyConn) SetDeadline(time.Time) error      { return nil }
func (c *proxyConn) SetReadDeadline(time.Time) error  { return nil }
func (c *proxyConn) SetWriteDeadline(time.Time) error { return nil }

type proxyAddr string

func (a proxyAddr) Network() string { return "proxycommand" }
func (a proxyAddr) String() string  { return string(a) }

// limitedBuffer keeps the first 4 KiB written to it (a proxy's stderr).
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
