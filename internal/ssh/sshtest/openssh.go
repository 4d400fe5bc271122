package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"

	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// ErrNoSSHD: no OpenSSH sshd binary on this machine (the only reason a
// real-sshd test may skip).
var ErrNoSSHD = errors.New("no sshd binary (install openssh-server)")

// SSHDPath finds sshd: /usr/sbin/sshd or $PATH. sshd must be run by an
// absolute path (it re-executes itself).
func SSHDPath() (string, error) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("sshd"); err == nil {
		return filepath.Abs(p)
	}
	return "", ErrNoSSHD
}

// OpenSSH is a real sshd on 127.0.0.1 with its own config, keys and an
// empty HOME for sessions, started for tests and benchmarks.
type OpenSSH struct {
	Port         int
	Dir          string
	User         string
	IdentityFile string // the client's private key (OpenSSH format, no passphrase)
	KnownHosts   string // known_hosts trusting the server's key
	Signer       gossh.Signer
	HostKey      gossh.PublicKey
	Home         string // HOME of sessions (empty directory)
	cmd          *exec.Cmd
	done         chan struct{}
}

// StartOpenSSH starts sshd in dir (which must exist and be private to the
// caller). Sessions get HOME=<dir>/home so the account's shell rc files
// (root's runs pyenv init on these machines, ~100 ms) are not read.
// extraConfig lines are added to sshd_config, replacing the defaults for
// their keywords.
func StartOpenSSH(dir string, extraConfig ...string) (*OpenSSH, error) {
	return StartOpenSSHWith(dir, OpenSSHOptions{Config: extraConfig})
}

// OpenSSHOptions configure StartOpenSSHWith.
type OpenSSHOptions struct {
	// Config lines replace the defaults for their keywords in sshd_config.
	Config []string
	// HostCA, when set, is a CA private key file: the host key is signed
	// with it (ssh-keygen -s -h, principals HostPrincipals, default
	// 127.0.0.1) and served as a HostCertificate.
	HostCA         string
	HostPrincipals string
}

// StartOpenSSHWith is StartOpenSSH with options.
func StartOpenSSHWith(dir string, opts OpenSSHOptions) (*OpenSSH, error) {
	extraConfig := opts.Config
	sshd, err := SSHDPath()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/run/sshd"); errors.Is(err, os.ErrNotExist) {
		// The privilege separation directory the package normally creates.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("sshd needs /run/sshd: %w", err)
		}
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	o := &OpenSSH{Dir: dir, User: u.Username, Home: filepath.Join(dir, "home"), done: make(chan struct{})}
	if err := os.MkdirAll(o.Home, 0o700); err != nil {
		return nil, err
	}
	hostSigner, hostPEM, err := newOpenSSHKey()
	if err != nil {
		return nil, err
	}
	userSigner, userPEM, err := newOpenSSHKey()
	if err != nil {
		return nil, err
	}
	o.Signer, o.HostKey = userSigner, hostSigner.PublicKey()
	o.IdentityFile = filepath.Join(dir, "id_ed25519")
	files := map[string][]byte{
		"host_ed25519":    hostPEM,
		"id_ed25519":      userPEM,
		"authorized_keys": gossh.MarshalAuthorizedKey(userSigner.PublicKey()),
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			return nil, err
		}
	}
	if opts.HostCA != "" {
		pub := filepath.Join(dir, "host_ed25519.pub")
		if err := os.WriteFile(pub, gossh.MarshalAuthorizedKey(o.HostKey), 0o644); err != nil {
			return nil, err
		}
		pr := opts.HostPrincipals
		if pr == "" {
			pr = "127.0.0.1"
		}
		if out, err := exec.Command("ssh-keygen", "-q", "-s", opts.HostCA, "-I", "runbook-test-host", "-h", "-n", pr, pub).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("sign host key: %v: %s", err, out)
		}
		extraConfig = append(extraConfig, "HostCertificate "+filepath.Join(dir, "host_ed25519-cert.pub"))
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	o.Port = port
	o.KnownHosts = filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, gossh.MarshalAuthorizedKey(o.HostKey))
	if err := os.WriteFile(o.KnownHosts, []byte(line), 0o600); err != nil {
		return nil, err
	}
	conf := []string{
		fmt.Sprintf("Port %d", port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"SetEnv HOME=" + o.Home,
		"Subsystem sftp internal-sftp",
		"MaxSessions 10",
		"MaxStartups 100:30:200",
		"LogLevel ERROR",
	}
	// sshd takes a keyword's first value: an extra line replaces the
	// default for its keyword.
	extraKeys := map[string]bool{}
	for _, l := range extraConfig {
		if f := strings.Fields(l); len(f) > 0 {
			extraKeys[strings.ToLower(f[0])] = true
		}
	}
	kept := conf[:0]
	for _, l := range conf {
		if !extraKeys[strings.ToLower(strings.Fields(l)[0])] {
			kept = append(kept, l)
		}
	}
	conf = append(kept, extraConfig...)
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	o.cmd = exec.Command(sshd, "-D", "-e", "-f", cfgPath)
	logf, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		return nil, err
	}
	o.cmd.Stdout, o.cmd.Stderr = logf, logf
	o.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := o.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	go func() { _ = o.cmd.Wait(); logf.Close(); close(o.done) }()
	// Wait for the listener: bounded, 200 tries of 25 ms.
	for i := 0; i < 200; i++ {
		select {
		case <-o.done:
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			return nil, fmt.Errorf("sshd exited: %s", strings.TrimSpace(string(b)))
		default:
		}
		if c, err := net.DialTimeout("tcp", o.Addr(), time.Second); err == nil {
			c.Close()
			return o, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	o.Close()
	return nil, errors.New("sshd did not listen within 5s")
}

// Addr is 127.0.0.1:port.
func (o *OpenSSH) Addr() string { return fmt.Sprintf("127.0.0.1:%d", o.Port) }

// Target is user@127.0.0.1:port, as --target takes it.
func (o *OpenSSH) Target() string { return o.User + "@" + o.Addr() }

// Config is a Client config for this server: its key, its known_hosts,
// strict policy, no ~/.ssh.
func (o *OpenSSH) Config() rbssh.Config {
	return rbssh.Config{
		Signers: []gossh.Signer{o.Signer}, NoAgent: true, NoDefaultIdentities: true, NoSSHConfig: true,
		KnownHosts: []string{o.KnownHosts}, HostKeyPolicy: rbssh.PolicyStrict,
	}
}

// PID is the listening sshd's process id. Its children (a process per
// connection, and their shells) are reaped into its cumulative CPU time,
// which is how benchmarks measure what a host spent serving them.
func (o *OpenSSH) PID() int {
	if o.cmd == nil || o.cmd.Process == nil {
		return 0
	}
	return o.cmd.Process.Pid
}

// Log is what sshd printed.
func (o *OpenSSH) Log() string {
	b, _ := os.ReadFile(filepath.Join(o.Dir, "sshd.log"))
	return string(b)
}

// Close stops sshd (the listener we started, by PID; its session children
// end with their connections).
func (o *OpenSSH) Close() error {
	if o.cmd == nil || o.cmd.Process == nil {
		return nil
	}
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.done:
	case <-time.After(5 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.done
	}
	return nil
}

func newOpenSSHKey() (gossh.Signer, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, err
	}
	return s, pem.EncodeToMemory(block), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
