package ssh

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/skeema/knownhosts"
	gossh "golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys checks host keys against known_hosts files (hashed entries,
// [host]:port, @revoked, @cert-authority via skeema/knownhosts) and records
// keys the policy accepts.
type hostKeys struct {
	mu    sync.Mutex
	files []string // all files consulted; new keys go to files[0]
	db    *knownhosts.HostKeyDB
}

func newHostKeys(files []string) (*hostKeys, error) {
	hk := &hostKeys{files: files}
	return hk, hk.reload()
}

// reload re-reads the files; missing files are an empty database.
func (hk *hostKeys) reload() error {
	var existing []string
	for _, f := range hk.files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	var db *knownhosts.HostKeyDB
	if len(existing) > 0 {
		var err error
		if db, err = knownhosts.NewDB(existing...); err != nil {
			return fmt.Errorf("read known_hosts %v: %w", existing, err)
		}
	}
	hk.mu.Lock()
	hk.db = db
	hk.mu.Unlock()
	return nil
}

// algorithms returns the host key algorithms known_hosts holds for the host,
// so a host trusted through OpenSSH with only an ed25519 line is not offered
// RSA first and mistaken for a changed key (golang/go#29286).
func (hk *hostKeys) algorithms(hostport string) []string {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if hk.db == nil {
		return nil
	}
	return hk.db.HostKeyAlgorithms(hostport)
}

// Fingerprint is the SHA256 fingerprint as OpenSSH prints it.
func Fingerprint(k gossh.PublicKey) string { return gossh.FingerprintSHA256(k) }

// How a host key came to be trusted (HostKeyInfo.Trust).
const (
	TrustKnownHosts    = "known_hosts"    // a known_hosts line holds the key
	TrustCertAuthority = "cert-authority" // a host certificate signed by a @cert-authority key
	TrustAcceptNew     = "accept-new"     // first contact under --host-key-policy accept-new
	TrustOperator      = "operator"       // the operator accepted the fingerprint when asked
)

// HostKeyInfo is the host key a connection verified, and why it was
// trusted: for the bundle manifest and report.
type HostKeyInfo struct {
	Host        string `json:"host"`        // the name the key was checked under (host:port, or HostKeyAlias:port)
	KeyType     string `json:"key_type"`    // e.g. ssh-ed25519, or ssh-ed25519-cert-v01@openssh.com
	Fingerprint string `json:"fingerprint"` // SHA256:... of the key (of the host key inside a certificate)
	Trust       string `json:"trust"`       // TrustKnownHosts, TrustCertAuthority, TrustAcceptNew, TrustOperator
	// Source: known_hosts file:line that trusted it (the CA's line for a
	// certificate), or the file a newly accepted key was written to.
	Source string `json:"source,omitempty"`
	// CAFingerprint is the signing CA's fingerprint for a certificate.
	CAFingerprint string `json:"ca_fingerprint,omitempty"`
}

func newHostKeyInfo(name string, key gossh.PublicKey, trust string) HostKeyInfo {
	info := HostKeyInfo{Host: name, KeyType: key.Type(), Fingerprint: Fingerprint(key), Trust: trust}
	if cert, ok := key.(*gossh.Certificate); ok {
		info.Fingerprint = Fingerprint(cert.Key)
		info.CAFingerprint = Fingerprint(cert.SignatureKey)
		if trust == TrustKnownHosts {
			info.Trust = TrustCertAuthority
		}
	}
	return info
}

// probeKey matches no host: asking known_hosts about it lists every key it
// holds for a host (KeyError.Want, with file and line).
type probeKey struct{}

func (probeKey) Type() string                          { return "runbook-probe" }
func (probeKey) Marshal() []byte                       { return []byte("runbook-probe") }
func (probeKey) Verify([]byte, *gossh.Signature) error { return errors.New("probe key") }

// source finds the known_hosts line that trusts key for name: the key's
// own line, or for a certificate the first @cert-authority line holding
// its CA (x/crypto does not say which line matched).
func (hk *hostKeys) source(db *knownhosts.HostKeyDB, name string, remote net.Addr, key gossh.PublicKey) string {
	if cert, ok := key.(*gossh.Certificate); ok {
		ca := base64.StdEncoding.EncodeToString(cert.SignatureKey.Marshal())
		hk.mu.Lock()
		files := hk.files
		hk.mu.Unlock()
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for i, line := range strings.Split(string(data), "\n") {
				fs := strings.Fields(line)
				if len(fs) >= 4 && fs[0] == "@cert-authority" && fs[3] == ca {
					return fmt.Sprintf("%s:%d", f, i+1)
				}
			}
		}
		return ""
	}
	var ke *xknownhosts.KeyError
	if err := db.HostKeyCallback()(name, remote, probeKey{}); errors.As(err, &ke) {
		for _, w := range ke.Want {
			if bytes.Equal(w.Key.Marshal(), key.Marshal()) {
				return fmt.Sprintf("%s:%d", w.Filename, w.Line)
			}
		}
	}
	return ""
}

// callback builds the HostKeyCallback for one hop: name is what the key is
// checked and recorded under; verified receives the key it accepted.
func (hk *hostKeys) callback(c *Client, name string, policy Policy, verified func(HostKeyInfo)) gossh.HostKeyCallback {
	return func(_ string, remote net.Addr, key gossh.PublicKey) error {
		hk.mu.Lock()
		db := hk.db
		hk.mu.Unlock()
		check := func(k gossh.PublicKey) error {
			if db == nil {
				return &xknownhosts.KeyError{}
			}
			return db.HostKeyCallback()(name, remote, k)
		}
		hk.mu.Lock()
		files := hk.files
		hk.mu.Unlock()
		err := check(key)
		if err == nil {
			info := newHostKeyInfo(name, key, TrustKnownHosts)
			info.Source = hk.source(db, name, remote, key)
			verified(info)
			return nil
		}
		var revoked *xknownhosts.RevokedError
		if errors.As(err, &revoked) {
			return fmt.Errorf("%w: %s key %s for %s (%s:%d)", ErrHostKeyRevoked, key.Type(), Fingerprint(key), name, revoked.Revoked.Filename, revoked.Revoked.Line)
		}
		var ke *xknownhosts.KeyError
		isKeyErr := errors.As(err, &ke)
		if cert, ok := key.(*gossh.Certificate); ok || isKeyErr && len(ke.Want) == 0 {
			// Lines x/crypto cannot match (wildcard ports), as OpenSSH.
			l, want, oerr := opensshCheck(files, name, remote, key)
			if oerr != nil && !ok {
				return oerr
			}
			if l != nil {
				info := newHostKeyInfo(name, key, TrustKnownHosts)
				info.Source = fmt.Sprintf("%s:%d", l.file, l.line)
				verified(info)
				return nil
			}
			if len(want) > 0 && !ok {
				ke, isKeyErr = &xknownhosts.KeyError{Want: want}, true
			}
			if ok {
				// OpenSSH: a certificate no trusted CA vouches for is
				// checked as the plain key inside it (known_hosts line,
				// or first contact under the policy).
				key = cert.Key
				if err = check(key); err == nil {
					info := newHostKeyInfo(name, key, TrustKnownHosts)
					info.Source = hk.source(db, name, remote, key)
					verified(info)
					return nil
				}
				if errors.As(err, &revoked) {
					return fmt.Errorf("%w: %s key %s for %s (%s:%d)", ErrHostKeyRevoked, key.Type(), Fingerprint(key), name, revoked.Revoked.Filename, revoked.Revoked.Line)
				}
				isKeyErr = errors.As(err, &ke)
				if isKeyErr && len(ke.Want) == 0 {
					if l, want, _ := opensshCheck(files, name, remote, key); l != nil {
						info := newHostKeyInfo(name, key, TrustKnownHosts)
						info.Source = fmt.Sprintf("%s:%d", l.file, l.line)
						verified(info)
						return nil
					} else if len(want) > 0 {
						ke = &xknownhosts.KeyError{Want: want}
					}
				}
			}
		}
		if !isKeyErr {
			return fmt.Errorf("check host key of %s: %w", name, err)
		}
		fp := Fingerprint(key)
		if len(ke.Want) > 0 {
			e := &HostKeyChangedError{Host: name, Got: key.Type() + " " + fp}
			for _, w := range ke.Want {
				e.Want = append(e.Want, fmt.Sprintf("%s %s (%s:%d)", w.Key.Type(), Fingerprint(w.Key), w.Filename, w.Line))
			}
			return e
		}
		trust := TrustAcceptNew
		switch policy {
		case PolicyAcceptNew:
		case PolicyAsk:
			trust = TrustOperator
			if c.cfg.HostKeyPrompt == nil {
				return &UnknownHostError{Host: name, KeyType: key.Type(), Fingerprint: fp, Policy: policy}
			}
			ok, perr := c.cfg.HostKeyPrompt(name, remote.String(), key, fp)
			if perr != nil {
				return fmt.Errorf("ask to trust host key of %s: %w", name, perr)
			}
			if !ok {
				return &UnknownHostError{Host: name, KeyType: key.Type(), Fingerprint: fp, Policy: policy}
			}
		default:
			return &UnknownHostError{Host: name, KeyType: key.Type(), Fingerprint: fp, Policy: policy}
		}
		if err := hk.add(name, key); err != nil {
			return err
		}
		info := newHostKeyInfo(name, key, trust)
		hk.mu.Lock()
		info.Source = hk.files[0]
		hk.mu.Unlock()
		verified(info)
		return nil
	}
}

// add records a newly trusted key in the first known_hosts file.
func (hk *hostKeys) add(name string, key gossh.PublicKey) error {
	if err := hk.append(name, key); err != nil {
		return err
	}
	return hk.reload()
}

func (hk *hostKeys) append(name string, key gossh.PublicKey) error {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if len(hk.files) == 0 {
		return errors.New("no known_hosts file to record the new host key in")
	}
	f := hk.files[0]
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return fmt.Errorf("record host key of %s: %w", name, err)
	}
	fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("record host key of %s: %w", name, err)
	}
	_, err = fh.WriteString(knownhosts.Line([]string{name}, key) + "\n")
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record host key of %s in %s: %w", name, f, err)
	}
	return nil
}

// effectivePolicy applies ssh_config StrictHostKeyChecking, which may only
// tighten the configured policy.
func effectivePolicy(p Policy, strict string) Policy {
	switch strict {
	case "yes":
		return PolicyStrict
	case "ask":
		if p == PolicyAcceptNew {
			return PolicyAsk
		}
	}
	return p
}
