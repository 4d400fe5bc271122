package redact

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Pseudonymiser replaces IP addresses and host names with stable stand-ins
// (like `sos report --clean`): the same real value gets the same pseudonym in
// every file, command output, event, member name and report of one bundle,
// and the map from pseudonyms back to real values stays with the operator.
//
//   - IPv4 addresses become addresses in 198.18.0.0/15 (RFC 2544, never a
//     real host), in order of first appearance: 198.18.0.1, 198.18.0.2, ...
//   - IPv6 addresses become 2001:db8::N (RFC 3849, documentation); an
//     IPv4-mapped address keeps its form (::ffff:198.18.0.1).
//   - The dashed form cloud providers use in host names (ip-10-0-1-2) takes
//     the pseudonym of the address it spells (ip-198-18-0-1).
//   - Learned host names (AddHost: the targets, the local machine) become
//     hostN, and their domain domainN.invalid: web-1.prod.example.com →
//     host1.domain1.invalid, web-1 → host1, and any other name under a
//     learned domain (db-3.prod.example.com) gets a hostN of its own.
//
// Loopback, unspecified, broadcast and netmask-looking addresses (127/8,
// 0.0.0.0, 255.x, ::, ::1) say nothing about a site and are kept. Text that
// is already a pseudonym is left as it is, so applying the Pseudonymiser
// twice changes nothing. It is safe for concurrent use.
type Pseudonymiser struct {
	mu      sync.Mutex
	v4      map[netip.Addr]netip.Addr
	v6      map[netip.Addr]netip.Addr
	names   map[string]string // lower-case real name (FQDN or short) → pseudonym
	domains map[string]string // lower-case real domain → pseudonym
	hostN   int
	nameRE  *regexp.Regexp // learned names and *.domains, longest first; nil when none
}

// NewPseudonymiser returns a Pseudonymiser that knows no host names yet.
func NewPseudonymiser() *Pseudonymiser {
	return &Pseudonymiser{v4: map[netip.Addr]netip.Addr{}, v6: map[netip.Addr]netip.Addr{},
		names: map[string]string{}, domains: map[string]string{}}
}

var (
	pseudo4Net = netip.MustParsePrefix("198.18.0.0/15")
	pseudo6Net = netip.MustParsePrefix("2001:db8::/32")
	// pseudoName matches what AddHost hands out, so it is never learned.
	pseudoName = regexp.MustCompile(`^(host[0-9]+(\.domain[0-9]+\.invalid)?|domain[0-9]+\.invalid)$`)
	labelRE    = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$`)
)

// AddHost learns a host name: a target as given (user@host:port,
// ssh://host, [v6]:port) or a bare name. Addresses need no learning, and
// names that cannot be host names (local, empty, a single character) are
// ignored. Learn every name before the first text goes through: a name
// learned later is not replaced in text already done.
func (p *Pseudonymiser) AddHost(spec string) {
	name := hostPart(spec)
	if name == "" || name == "local" || name == "localhost" || len(name) < 2 || pseudoName.MatchString(name) {
		return
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(labels) > 2 {
		// web-1.prod.example.com: the domain is everything after the first
		// label (example.com for web-1.example.com; a single label such as
		// "internal" is too wide to be a site's domain).
		p.domainOf(strings.Join(labels[1:], "."))
	}
	p.nameOf(name, true)
	p.compile()
}

// hostPart is the host of a target spec, lower case.
func hostPart(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "ssh://")
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			return strings.ToLower(s[1:j])
		}
	}
	if strings.Count(s, ":") == 1 {
		s = s[:strings.IndexByte(s, ':')]
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func (p *Pseudonymiser) domainOf(d string) string {
	if v, ok := p.domains[d]; ok {
		return v
	}
	v := "domain" + strconv.Itoa(len(p.domains)+1) + ".invalid"
	p.domains[d] = v
	return v
}

// nameOf returns (allocating) the pseudonym of a real host name. An FQDN
// directly under a learned domain is its first label's hostN plus the
// domain's pseudonym, so web-1 and web-1.prod.example.com read as one host;
// a deeper name under a learned domain gets a hostN of its own (two real
// names never share a pseudonym). learn: the name was given (AddHost), so
// its first label alone is that host too.
func (p *Pseudonymiser) nameOf(name string, learn bool) string {
	if v, ok := p.names[name]; ok {
		return v
	}
	newHost := func() string {
		p.hostN++
		return "host" + strconv.Itoa(p.hostN)
	}
	short, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		v := newHost()
		p.names[name] = v
		return v
	}
	var v string
	if d, ok := p.domains[rest]; ok {
		host, known := p.names[short]
		if !known {
			host = newHost()
			if learn && !pseudoName.MatchString(short) {
				p.names[short] = host
			}
		}
		v = host + "." + d
	} else if d := p.learnedSuffix(rest); d != "" {
		v = newHost() + "." + p.domains[d]
	} else {
		// Learned without a domain of its own (db.internal).
		v = newHost()
		if learn && !pseudoName.MatchString(short) {
			if _, known := p.names[short]; !known {
				p.names[short] = v
			}
		}
	}
	p.names[name] = v
	return v
}

// learnedSuffix is the longest learned domain that d is, or is under.
func (p *Pseudonymiser) learnedSuffix(d string) string {
	best := ""
	for k := range p.domains {
		if (d == k || strings.HasSuffix(d, "."+k)) && len(k) > len(best) {
			best = k
		}
	}
	return best
}

// compile builds the name matcher: learned names, and any name under a
// learned domain, longest alternatives first so an FQDN wins over its
// first label.
func (p *Pseudonymiser) compile() {
	var alts []string
	for d := range p.domains {
		alts = append(alts, `(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)*`+regexp.QuoteMeta(d))
	}
	for n := range p.names {
		alts = append(alts, regexp.QuoteMeta(n))
	}
	if len(alts) == 0 {
		p.nameRE = nil
		return
	}
	sort.Slice(alts, func(i, j int) bool {
		if len(alts[i]) != len(alts[j]) {
			return len(alts[i]) > len(alts[j])
		}
		return alts[i] < alts[j]
	})
	p.nameRE = regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
}

var (
	ipv4RE   = regexp.MustCompile(`[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`)
	dashedRE = regexp.MustCompile(`(?i)ip-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})`)
	// ipv6RE finds candidates: hex groups with at least two colons (and
	// maybe a dotted IPv4 tail); netip decides.
	// The dotted tail is tried first: ::ffff:10.0.1.2 is one address, not
	// ::ffff:10 and a number.
	ipv6RE = regexp.MustCompile(`(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){1,6}:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}`)
)

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// at is b[i], or 0 outside b.
func at(b []byte, i int) byte {
	if i < 0 || i >= len(b) {
		return 0
	}
	return b[i]
}

// String pseudonymises one text.
func (p *Pseudonymiser) String(s string) string {
	out, _ := p.Bytes([]byte(s))
	return string(out)
}

// Bytes pseudonymises b (one line or any text) and returns the result and
// how many values it replaced. b is not modified.
func (p *Pseudonymiser) Bytes(b []byte) ([]byte, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	// Host names first: a name under a learned domain may hold a dashed
	// address (ip-10-0-1-2.prod.example.com), which is then one host.
	if p.nameRE != nil {
		b = replaceAll(b, p.nameRE, &n, func(b []byte, s, e int) ([]byte, bool) {
			// Whole names only: web-1 is not inside web-10 or web-1-old
			// (but web-1_access.log and web-1.log are web-1's).
			if c := at(b, s-1); isAlnum(c) || c == '-' {
				return nil, false
			}
			if c := at(b, e); isAlnum(c) || c == '-' {
				return nil, false
			}
			name := strings.ToLower(string(b[s:e]))
			if pseudoName.MatchString(name) {
				return nil, false
			}
			if d, ok := p.domains[name]; ok {
				return []byte(d), true
			}
			if _, known := p.names[name]; !known && !strings.Contains(name, ".") {
				return nil, false
			}
			return []byte(p.nameOf(name, false)), true
		})
	}
	b = replaceAll(b, dashedRE, &n, func(b []byte, s, e int) ([]byte, bool) {
		if isAlnum(at(b, s-1)) || isDigit(at(b, e)) {
			return nil, false
		}
		a, ok := p.v4Of(strings.ReplaceAll(string(b[s+3:e]), "-", "."))
		if !ok {
			return nil, false
		}
		return append(append([]byte{}, b[s:s+3]...), strings.ReplaceAll(a.String(), ".", "-")...), true
	})
	b = replaceAll(b, ipv6RE, &n, func(b []byte, s, e int) ([]byte, bool) {
		if c := at(b, s-1); isAlnum(c) || c == ':' || c == '.' {
			return nil, false
		}
		if c := at(b, e); isAlnum(c) || c == ':' || c == '.' && isDigit(at(b, e+1)) {
			return nil, false
		}
		addr, err := netip.ParseAddr(string(b[s:e]))
		if err != nil || !addr.Is6() {
			return nil, false
		}
		if addr.Is4In6() {
			a, ok := p.v4Of(addr.Unmap().String())
			if !ok {
				return nil, false
			}
			return []byte("::ffff:" + a.String()), true
		}
		if addr.IsLoopback() || addr.IsUnspecified() || pseudo6Net.Contains(addr) {
			return nil, false
		}
		v, ok := p.v6[addr]
		if !ok {
			var raw [16]byte
			copy(raw[:], pseudo6Net.Addr().AsSlice())
			binary.BigEndian.PutUint64(raw[8:], uint64(len(p.v6)+1))
			v = netip.AddrFrom16(raw)
			p.v6[addr] = v
		}
		return []byte(v.String()), true
	})
	b = replaceAll(b, ipv4RE, &n, func(b []byte, s, e int) ([]byte, bool) {
		// Not part of a longer dotted number (1.2.3.4.5, an OID).
		if c := at(b, s-1); isAlnum(c) || c == '.' && isDigit(at(b, s-2)) {
			return nil, false
		}
		if c := at(b, e); isAlnum(c) || c == '.' && isDigit(at(b, e+1)) {
			return nil, false
		}
		a, ok := p.v4Of(string(b[s:e]))
		if !ok {
			return nil, false
		}
		return []byte(a.String()), true
	})
	return b, n
}

// v4Of is the pseudonym of a dotted address; false when s is no address or
// one that is kept (loopback, 0.x, 255.x, already a pseudonym).
func (p *Pseudonymiser) v4Of(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil || !addr.Is4() {
		return netip.Addr{}, false
	}
	b := addr.As4()
	if b[0] == 0 || b[0] == 127 || b[0] == 255 || pseudo4Net.Contains(addr) {
		return netip.Addr{}, false
	}
	if v, ok := p.v4[addr]; ok {
		return v, true
	}
	base := binary.BigEndian.Uint32(pseudo4Net.Addr().AsSlice())
	var raw [4]byte
	binary.BigEndian.PutUint32(raw[:], base+uint32(len(p.v4)+1)%(1<<17))
	v := netip.AddrFrom4(raw)
	p.v4[addr] = v
	return v, true
}

// replaceAll replaces the matches of re that repl accepts; repl sees the
// whole text and the match's bounds, to look at what surrounds it.
func replaceAll(b []byte, re *regexp.Regexp, n *int, repl func(b []byte, s, e int) ([]byte, bool)) []byte {
	locs := re.FindAllIndex(b, -1)
	if locs == nil {
		return b
	}
	var out []byte
	last, done := 0, false
	for _, l := range locs {
		r, ok := repl(b, l[0], l[1])
		if !ok {
			continue
		}
		out = append(out, b[last:l[0]]...)
		out = append(out, r...)
		last, done = l[1], true
		*n++
	}
	if !done {
		return b
	}
	return append(out, b[last:]...)
}

// Pair is one entry of the map: a real value and its pseudonym.
type Pair struct {
	Kind      string `json:"kind"` // ipv4, ipv6, hostname, domain
	Real      string `json:"real"`
	Pseudonym string `json:"pseudonym"`
}

// Mapping is every pseudonym handed out, by kind then pseudonym.
func (p *Pseudonymiser) Mapping() []Pair {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Pair
	for k, v := range p.v4 {
		out = append(out, Pair{"ipv4", k.String(), v.String()})
	}
	for k, v := range p.v6 {
		out = append(out, Pair{"ipv6", k.String(), v.String()})
	}
	for k, v := range p.names {
		out = append(out, Pair{"hostname", k, v})
	}
	for k, v := range p.domains {
		out = append(out, Pair{"domain", k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return naturalLess(out[i].Pseudonym, out[j].Pseudonym)
	})
	return out
}

// naturalLess orders host2 before host10.
func naturalLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// String form for errors and logs.
func (q Pair) String() string { return fmt.Sprintf("%s %s → %s", q.Kind, q.Real, q.Pseudonym) }
