package ssh

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"

	gossh "golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// OpenSSH matches a known_hosts pattern against the whole host string,
// "[host]:port" for a port other than 22, with * and ? as the only
// wildcards: `[10.0.0.*]:*` matches "[10.0.0.1]:2222". x/crypto splits
// the port off and compares it literally, so such lines never match there.
// opensshLines re-reads the files for lines whose pattern has a wildcard
// in a bracketed port, the one case x/crypto (and skeema/knownhosts, which
// fixes wildcards without a port) gets wrong, and matches them as OpenSSH.

type opensshLine struct {
	file     string
	line     int
	ca       bool
	patterns []string
	key      gossh.PublicKey
}

// opensshLines returns the lines x/crypto cannot match (see above).
func opensshLines(files []string) []opensshLine {
	var out []opensshLine
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			n++
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			fs := strings.Fields(string(line))
			l := opensshLine{file: f, line: n}
			if strings.HasPrefix(fs[0], "@") {
				if fs[0] != "@cert-authority" {
					continue // @revoked is host-independent and x/crypto applies it
				}
				l.ca, fs = true, fs[1:]
			}
			if len(fs) < 3 || strings.HasPrefix(fs[0], "|") {
				continue
			}
			pats := strings.Split(fs[0], ",")
			needed := false
			for _, p := range pats {
				if i := strings.LastIndex(p, "]:"); i >= 0 && strings.ContainsAny(p[i+2:], "*?") {
					needed = true
				}
			}
			if !needed {
				continue
			}
			key, _, _, _, err := gossh.ParseAuthorizedKey([]byte(strings.Join(fs[1:], " ")))
			if err != nil {
				continue
			}
			l.patterns, l.key = pats, key
			out = append(out, l)
		}
		fh.Close()
	}
	return out
}

// opensshHost is the string OpenSSH matches patterns against.
func opensshHost(hostport string) string {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.ToLower(hostport)
	}
	if p == "22" {
		return strings.ToLower(h)
	}
	return "[" + strings.ToLower(h) + "]:" + p
}

// matchPatterns is OpenSSH's match_hostname: a negated pattern that
// matches rules the line out; otherwise any positive match is a match.
func matchPatterns(host string, pats []string) bool {
	matched := false
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		if glob(strings.ToLower(strings.TrimPrefix(p, "!")), host) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

// glob matches * (any run) and ? (one byte), as OpenSSH's match_pattern.
// Bounded: each * tries each suffix once per pattern position.
func glob(pat, s string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if glob(pat[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != pat[0] {
				return false
			}
		}
		pat, s = pat[1:], s[1:]
	}
	return len(s) == 0
}

// opensshCheck decides a key x/crypto found no line for, from the lines it
// cannot match: trusted (the line), changed (the lines that want another
// key), or still unknown (nil, nil).
func opensshCheck(files []string, name string, remote net.Addr, key gossh.PublicKey) (*opensshLine, []xknownhosts.KnownKey, error) {
	host := opensshHost(name)
	cert, isCert := key.(*gossh.Certificate)
	var want []xknownhosts.KnownKey
	for _, l := range opensshLines(files) {
		if !matchPatterns(host, l.patterns) {
			continue
		}
		switch {
		case l.ca && isCert && bytes.Equal(l.key.Marshal(), cert.SignatureKey.Marshal()):
			cc := &gossh.CertChecker{IsHostAuthority: func(gossh.PublicKey, string) bool { return true }}
			if err := cc.CheckHostKey(name, remote, key); err != nil {
				return nil, nil, fmt.Errorf("host certificate of %s signed by the CA on %s:%d: %w", name, l.file, l.line, err)
			}
			return &l, nil, nil
		case !l.ca && bytes.Equal(l.key.Marshal(), key.Marshal()):
			return &l, nil, nil
		case !l.ca:
			want = append(want, xknownhosts.KnownKey{Key: l.key, Filename: l.file, Line: l.line})
		}
	}
	return nil, want, nil
}
