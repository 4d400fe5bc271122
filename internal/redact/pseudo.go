package redact

import (
	"bytes"
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
	// nameLits and domainLits are the learned names and domains, lower
	// case, longest first (scanNames); low is its scratch.
	nameLits, domainLits [][]byte
	low                  []byte
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

// compile lists the learned names and domains for scanNames, longest
// first.
func (p *Pseudonymiser) compile() {
	p.nameLits, p.domainLits = p.nameLits[:0], p.domainLits[:0]
	for d := range p.domains {
		p.domainLits = append(p.domainLits, []byte(d))
	}
	for n := range p.names {
		p.nameLits = append(p.nameLits, []byte(n))
	}
	for _, l := range [][][]byte{p.nameLits, p.domainLits} {
		sort.Slice(l, func(i, j int) bool {
			if len(l[i]) != len(l[j]) {
				return len(l[i]) > len(l[j])
			}
			return bytes.Compare(l[i], l[j]) < 0
		})
	}
}

func isLabel(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// scanNames replaces learned names, and any name under a learned domain
// (extended left over its labels), whole names only: web-1 is not inside
// web-10 or web-1-old (but web-1_access.log and web-1.log are web-1's).
// Where candidates overlap the earliest, then the longest, wins.
func (p *Pseudonymiser) scanNames(b []byte, n *int) []byte {
	if cap(p.low) < len(b) {
		p.low = make([]byte, len(b))
	}
	low := p.low[:len(b)]
	lower(low, b)
	type cand struct{ s, e int }
	var cands []cand
	each := func(lit []byte, f func(i int)) {
		for off := 0; off < len(low); {
			i := bytes.Index(low[off:], lit)
			if i < 0 {
				return
			}
			f(off + i)
			off += i + 1
		}
	}
	for _, d := range p.domainLits {
		each(d, func(i int) {
			s := i
			for s > 0 && low[s-1] == '.' {
				k := s - 1
				for k > 0 && isLabel(low[k-1]) {
					k--
				}
				if k == s-1 {
					break
				}
				s = k
			}
			cands = append(cands, cand{s, i + len(d)})
		})
	}
	for _, nm := range p.nameLits {
		each(nm, func(i int) { cands = append(cands, cand{i, i + len(nm)}) })
	}
	if len(cands) == 0 {
		return b
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].s != cands[j].s {
			return cands[i].s < cands[j].s
		}
		return cands[i].e > cands[j].e
	})
	sp := splice{b: b}
	end := 0
	for _, c := range cands {
		if c.s < end {
			continue
		}
		if x := at(b, c.s-1); isAlnum(x) || x == '-' {
			continue
		}
		if x := at(b, c.e); isAlnum(x) || x == '-' {
			continue
		}
		name := string(low[c.s:c.e])
		if pseudoName.MatchString(name) {
			continue
		}
		r, ok := p.domains[name]
		if !ok {
			if _, known := p.names[name]; !known && !strings.Contains(name, ".") {
				continue
			}
			r = p.nameOf(name, false)
		}
		sp.put(c.s, c.e, r)
		end = c.e
		*n++
	}
	return sp.done()
}

var dashedRE = regexp.MustCompile(`(?i)ip-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})`)

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
	if len(p.nameLits)+len(p.domainLits) > 0 {
		b = p.scanNames(b, &n)
	}
	if containsFold(b, "ip-") {
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
	}
	if bytes.IndexByte(b, ':') >= 0 {
		b = p.scanV6(b, &n)
	}
	if bytes.IndexByte(b, '.') >= 0 {
		b = p.scanV4(b, &n)
	}
	return b, n
}

// containsFold reports whether b holds lit (lower case ASCII) in any case.
func containsFold(b []byte, lit string) bool {
	for i := 0; i+len(lit) <= len(b); i++ {
		j := 0
		for j < len(lit) && b[i+j]|0x20 == lit[j] {
			j++
		}
		if j == len(lit) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// splice collects replacements of b's spans, in order.
type splice struct {
	b    []byte
	out  []byte
	last int
}

func (s *splice) put(from, to int, r string) {
	s.out = append(append(s.out, s.b[s.last:from]...), r...)
	s.last = to
}

func (s *splice) done() []byte {
	if s.out == nil {
		return s.b
	}
	return append(s.out, s.b[s.last:]...)
}

// scanV6 replaces IPv6 addresses: a run of hex digits, colons and dots
// with at least two colons that netip accepts, not glued to a word.
func (p *Pseudonymiser) scanV6(b []byte, n *int) []byte {
	sp := splice{b: b}
	v6char := func(c byte) bool { return isHex(c) || c == ':' || c == '.' }
	for i := 0; i < len(b); i++ {
		if b[i] != ':' {
			continue
		}
		s, e := i, i
		for s > 0 && v6char(b[s-1]) {
			s--
		}
		for e < len(b) && v6char(b[e]) {
			e++
		}
		i = e
		for e > s && b[e-1] == '.' { // "… at fe80::1."
			e--
		}
		if bytes.Count(b[s:e], []byte{':'}) < 2 || isAlnum(at(b, s-1)) || isAlnum(at(b, e)) && at(b, e) != '.' {
			continue
		}
		addr, err := netip.ParseAddr(string(b[s:e]))
		if err != nil || !addr.Is6() {
			continue
		}
		var r string
		switch {
		case addr.Is4In6():
			a, ok := p.v4Of(addr.Unmap().String())
			if !ok {
				continue
			}
			r = "::ffff:" + a.String()
		case addr.IsLoopback() || addr.IsUnspecified() || pseudo6Net.Contains(addr):
			continue
		default:
			v, ok := p.v6[addr]
			if !ok {
				var raw [16]byte
				copy(raw[:], pseudo6Net.Addr().AsSlice())
				binary.BigEndian.PutUint64(raw[8:], uint64(len(p.v6)+1))
				v = netip.AddrFrom16(raw)
				p.v6[addr] = v
			}
			r = v.String()
		}
		sp.put(s, e, r)
		*n++
	}
	return sp.done()
}

// scanV4 replaces dotted quads that are not part of a longer dotted number
// (1.2.3.4.5, an OID) or glued to a word.
func (p *Pseudonymiser) scanV4(b []byte, n *int) []byte {
	sp := splice{b: b}
	for i := 0; i < len(b); i++ {
		if !isDigit(b[i]) {
			continue
		}
		if c := at(b, i-1); isAlnum(c) || c == '.' && isDigit(at(b, i-2)) {
			continue
		}
		e, ok := i, true
		for g := 0; g < 4 && ok; g++ {
			if g > 0 {
				if at(b, e) != '.' {
					ok = false
					break
				}
				e++
			}
			d := 0
			for d < 3 && isDigit(at(b, e)) {
				e++
				d++
			}
			ok = d > 0
		}
		if !ok {
			continue
		}
		if c := at(b, e); isAlnum(c) || c == '.' && isDigit(at(b, e+1)) {
			continue
		}
		a, ok := p.v4Of(string(b[i:e]))
		if !ok {
			continue
		}
		sp.put(i, e, a.String())
		*n++
		i = e - 1
	}
	return sp.done()
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
