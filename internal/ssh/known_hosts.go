package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
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

// callback builds the HostKeyCallback for one hop: name is what the key is
// checked and recorded under.
func (hk *hostKeys) callback(c *Client, name string, policy Policy) gossh.HostKeyCallback {
	return func(_ string, remote net.Addr, key gossh.PublicKey) error {
		hk.mu.Lock()
		db := hk.db
		hk.mu.Unlock()
		var err error
		if db == nil {
			err = &xknownhosts.KeyError{}
		} else {
			err = db.HostKeyCallback()(name, remote, key)
		}
		if err == nil {
			return nil
		}
		var revoked *xknownhosts.RevokedError
		if errors.As(err, &revoked) {
			return fmt.Errorf("%w: %s key %s for %s (%s:%d)", ErrHostKeyRevoked, key.Type(), Fingerprint(key), name, revoked.Revoked.Filename, revoked.Revoked.Line)
		}
		var ke *xknownhosts.KeyError
		if !errors.As(err, &ke) {
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
		switch policy {
		case PolicyAcceptNew:
		case PolicyAsk:
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
		return hk.add(name, key)
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
