package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// ErrBinary means the input holds a NUL byte: it is not text and cannot be
// redacted line by line.
var ErrBinary = errors.New("binary data (NUL byte): cannot redact")

// ErrLineTooLong means one line exceeds MaxLine: the scanner cannot hold it,
// so it cannot be redacted safely.
var ErrLineTooLong = errors.New("line too long to redact")

// MaxLine is the longest line Copy redacts (bytes, without the newline).
const MaxLine = 1 << 20

// MaskPrefix starts every mask, e.g. "[REDACTED:jwt]". Rules skip spans that
// already start with it so one secret is not counted twice.
const MaskPrefix = "[REDACTED"

// Rule is a named pattern. If the pattern has a group named "secret", only
// that group is masked (e.g. the value of `password=...`); otherwise the
// whole match is.
type Rule struct {
	Name    string
	Pattern string
	// Triggers are literals, one of which must occur in a line for the
	// pattern to match there. Fold means they are lower case and compared
	// case-insensitively. Empty: derived from the pattern's literal prefix, or
	// the pattern runs on every line.
	Triggers []string
	Fold     bool
	// SkipKeys lists (lower-case) values of the group named "key" for which a
	// match is ignored: `PWD=/home/bob` is the shell's working directory, not
	// a password.
	SkipKeys []string
}

// keyList is the vocabulary of secret-bearing keys for key=value, YAML and
// JSON rules. Every alternative contains one of keyTriggers.
const keyList = `(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?)`

var keyTriggers = []string{"pass", "pwd", "secret", "token", "key", "credential"}

// DefaultRules are applied to every bundle unless redaction is switched off.
// The PEM rule is handled specially (blocks span lines) and secret params are
// literal values, so neither is listed here.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "authorization-header", Fold: true, Triggers: []string{"authorization"},
			Pattern: `(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|digest|negotiate)\s+)?(?P<secret>[^\s"',;]{4,})`},
		{Name: "bearer-token", Fold: true, Triggers: []string{"bearer"},
			Pattern: `(?i)\bbearer\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)`},
		{Name: "aws-access-key-id", Triggers: []string{"AKIA", "ASIA"},
			Pattern: `\b(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b`},
		{Name: "aws-secret-access-key", Fold: true, Triggers: []string{"secret"},
			Pattern: `(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})`},
		{Name: "url-credentials", Triggers: []string{"://"},
			Pattern: `(?i)\b[a-z][a-z0-9+.-]{1,20}://[^/\s:@'"]+:(?P<secret>[^/\s@'"]+)@`},
		{Name: "jwt", Triggers: []string{"eyJ"},
			Pattern: `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`},
		{Name: "github-token", Triggers: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
			Pattern: `\b(?P<secret>(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))`},
		{Name: "slack-token", Triggers: []string{"xox"},
			Pattern: `\b(?P<secret>xox[abposr]-[A-Za-z0-9-]{10,})`},
		{Name: "google-api-key", Triggers: []string{"AIza"},
			Pattern: `\b(?P<secret>AIza[0-9A-Za-z_-]{35})`},
		{Name: "stripe-key", Triggers: []string{"_live_"},
			Pattern: `\b(?P<secret>[sr]k_live_[0-9A-Za-z]{16,})`},
		{Name: "cookie-header", Fold: true, Triggers: []string{"cookie"},
			Pattern: `(?i)\b(?:set-)?cookie\s*:\s*(?P<secret>\S.*)`},
		{Name: "json-secret", Fold: true, Triggers: keyTriggers,
			Pattern: `(?i)"(?P<key>[\w.-]*` + keyList + `[\w.-]*)"\s*:\s*"(?P<secret>(?:[^"\\]|\\.)+)"`},
		// JSON logged inside JSON: {"msg":"{\"token\":\"…\"}"}, at any depth of escaping.
		{Name: "json-escaped-secret", Fold: true, Triggers: keyTriggers,
			Pattern: `(?i)\\+"(?P<key>[\w.-]*` + keyList + `[\w.-]*)\\+"\s*:\s*\\+"(?P<secret>(?:[^"\\]|\\[^"\\])+)`},
		// mysql -pSECRET / mysqldump -p'SECRET' (the password is glued to -p).
		{Name: "mysql-password", Fold: true, Triggers: []string{"mysql"},
			Pattern: `(?i)\bmysql\w*\s(?:[^\n]*?\s)?-p(?P<secret>'[^']*'|"[^"]*"|[^\s'"-][^\s'"]*)`},
		// crypt(3) hashes as in /etc/shadow, and htpasswd entries.
		{Name: "password-hash", Fold: true, Triggers: []string{"$1$", "$2a$", "$2b$", "$2y$", "$5$", "$6$", "$y$", "$gy$", "$7$", "$apr1$", "$md5", "$sha1$", "{sha", "{ssha"},
			Pattern: `(?:^|[^\w.@-])[\w.@-]+:(?P<secret>\$(?:1|2[abxy]|5|6|y|gy|7|apr1|md5|sha1)\$[./0-9A-Za-z$=,+-]{8,}|\{S?SHA(?:256|512)?\}[A-Za-z0-9+/]{20,}={0,2})`},
		// <password>…</password>, <db.secret>…</db.secret> in XML.
		{Name: "xml-secret", Fold: true, Triggers: keyTriggers,
			Pattern: `(?i)<(?P<key>[\w.:-]*` + keyList + `[\w.:-]*)(?:\s[^>]*)?>(?P<secret>[^<]+)</`},
		{Name: "key-value-secret", Fold: true, Triggers: keyTriggers, SkipKeys: []string{"pwd", "oldpwd"},
			Pattern: `(?i)(?:^|[^\w./-])(?P<key>[\w.-]*` + keyList + `[\w.-]*)["']?\s*[=:]\s*(?P<secret>"[^"]*"|'[^']*'|[^\s"',;&]+)`},
	}
}

type rule struct {
	name     string
	re       *regexp.Regexp
	secret   int // subexpression index of "secret", or 0 for the whole match
	key      int // subexpression index of "key", or -1
	skipKeys []string
	trig     []int // indexes into Redactor.triggers
	always   bool  // no trigger: run on every line
}

type trigger struct {
	lit  []byte
	fold bool
}

// Redactor applies rules. It is safe for concurrent use: Copy keeps its state
// on the stack.
type Redactor struct {
	rules    []rule
	secrets  [][]byte
	triggers []trigger
	pemTrig  int
	anyFold  bool
	pseudo   *Pseudonymiser // nil: addresses and host names kept
}

// SetPseudonymiser makes every line Copy and String pass also go through p
// (after the rules), so pseudonyms reach everything redaction reaches. Call
// it before the Redactor is used.
func (r *Redactor) SetPseudonymiser(p *Pseudonymiser) { r.pseudo = p }

const pemRule = "pem-private-key"

var (
	pemBegin = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
	pemEnd   = regexp.MustCompile(`-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
)

// SecretParamRule names masks of secret parameter values.
const SecretParamRule = "secret-param"

// New builds a Redactor from rules (usually DefaultRules plus the runbook's)
// and literal secret values (engine.Session.Secrets()).
func New(rules []Rule, secrets []string) (*Redactor, error) {
	r := &Redactor{}
	addTrig := func(lit string, fold bool) int {
		t := trigger{lit: []byte(lit), fold: fold}
		for i, have := range r.triggers {
			if have.fold == fold && bytes.Equal(have.lit, t.lit) {
				return i
			}
		}
		r.triggers = append(r.triggers, t)
		if fold {
			r.anyFold = true
		}
		return len(r.triggers) - 1
	}
	r.pemTrig = addTrig("PRIVATE KEY", false)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		r.secrets = append(r.secrets, []byte(s))
	}
	// Longer secrets first, so one that contains another is masked whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	for _, ru := range rules {
		re, err := regexp.Compile(ru.Pattern)
		if err != nil {
			return nil, fmt.Errorf("redact rule %q: %w", ru.Name, err)
		}
		c := rule{name: ru.Name, re: re, key: re.SubexpIndex("key"), skipKeys: ru.SkipKeys}
		if i := re.SubexpIndex("secret"); i > 0 {
			c.secret = i
		}
		trigs := ru.Triggers
		fold := ru.Fold
		if len(trigs) == 0 {
			if p, _ := re.LiteralPrefix(); p != "" && !strings.Contains(ru.Pattern, "(?i") {
				trigs, fold = []string{p}, false
			}
		}
		if len(trigs) == 0 {
			c.always = true
		}
		for _, t := range trigs {
			if fold {
				t = strings.ToLower(t)
			}
			c.trig = append(c.trig, addTrig(t, fold))
		}
		r.rules = append(r.rules, c)
	}
	return r, nil
}

// Hit is one rule masking something on one line (1-based). Never the value.
type Hit struct {
	Line  int    `json:"line"`
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// Result says what Copy did.
type Result struct {
	In, Out int64          // bytes read and written
	Dropped int64          // bytes of a leading partial line dropped (DropFirstLine)
	Hits    []Hit          // per line and rule, at most MaxHits entries
	Totals  map[string]int // per rule, always complete
	Lines   int            // lines read
	// Pseudonyms counts addresses and host names replaced (SetPseudonymiser).
	Pseudonyms int
}

// Changed reports whether the output differs from the input.
func (r *Result) Changed() bool { return len(r.Totals) > 0 || r.Dropped > 0 || r.Pseudonyms > 0 }

// MaxHits bounds Result.Hits; Totals keep counting past it.
const MaxHits = 1000

// Options tune Copy.
type Options struct {
	// DropFirstLine drops everything up to and including the first newline.
	// A tail that starts mid-line may hold half a secret that no rule can
	// recognise ("sword=hunter2"), so tails start at the first whole line.
	DropFirstLine bool
}

const chunkSize = 1 << 20

type state struct {
	r       *Redactor
	res     *Result
	inPEM   bool
	line    int // lines fully processed before the current chunk position
	lowered []byte
	marks   []int
}

// Copy streams src to dst, masking secrets. It reads ahead at most one chunk
// plus one line. On ErrBinary or ErrLineTooLong, part of the input may
// already have been written: callers that must not ship unredactable data
// run Copy into a counting io.Discard first (the bundle does).
func (r *Redactor) Copy(dst io.Writer, src io.Reader, opt Options) (*Result, error) {
	res := &Result{Totals: map[string]int{}}
	st := &state{r: r, res: res}
	buf := make([]byte, chunkSize)
	n := 0
	dropping := opt.DropFirstLine
	eof := false
	for !eof {
		m, err := io.ReadFull(src, buf[n:])
		n += m
		res.In += int64(m)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			eof = true
		} else if err != nil {
			return res, err
		}
		data := buf[:n]
		if bytes.IndexByte(data, 0) >= 0 {
			return res, ErrBinary
		}
		if dropping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 && !eof {
				// the partial line continues: drop what we have
				res.Dropped += int64(n)
				n = 0
				if res.Dropped > MaxLine {
					return res, ErrLineTooLong
				}
				continue
			}
			if i < 0 {
				i = n - 1
			}
			res.Dropped += int64(i + 1)
			copy(buf, data[i+1:])
			n -= i + 1
			data = buf[:n]
			dropping = false
		}
		end := n
		if !eof {
			end = bytes.LastIndexByte(data, '\n') + 1
			if end == 0 {
				if len(buf) >= MaxLine+1 {
					return res, ErrLineTooLong
				}
				nb := make([]byte, min(2*len(buf), MaxLine+1))
				copy(nb, data)
				buf = nb
				continue
			}
		}
		if err := st.chunk(dst, data[:end]); err != nil {
			return res, err
		}
		copy(buf, data[end:])
		n -= end
	}
	if n > 0 {
		if err := st.chunk(dst, buf[:n]); err != nil {
			return res, err
		}
	}
	return res, nil
}

// String redacts one in-memory text (a command line, an event field).
func (r *Redactor) String(s string) (string, *Result) {
	var b strings.Builder
	res, err := r.Copy(&b, strings.NewReader(s), Options{})
	if err != nil {
		// Binary or overlong: nothing of it is safe to keep.
		return "[REDACTED:unredactable " + err.Error() + "]", &Result{Totals: map[string]int{"unredactable": 1}}
	}
	return b.String(), res
}

// chunk processes complete lines (the last may lack its newline at EOF).
func (st *state) chunk(dst io.Writer, data []byte) error {
	r := st.r
	// Find the starts of lines that hold a trigger.
	st.marks = st.marks[:0]
	if r.anyFold {
		if cap(st.lowered) < len(data) {
			st.lowered = make([]byte, len(data))
		}
		st.lowered = st.lowered[:len(data)]
		lower(st.lowered, data)
	}
	mark := func(hay, lit []byte) {
		off := 0
		for off < len(hay) {
			i := bytes.Index(hay[off:], lit)
			if i < 0 {
				return
			}
			p := off + i
			ls := bytes.LastIndexByte(data[:p], '\n') + 1
			st.marks = append(st.marks, ls)
			le := bytes.IndexByte(data[p:], '\n')
			if le < 0 {
				return
			}
			off = p + le + 1
		}
	}
	always := r.pseudo != nil // every line may hold an address
	for _, ru := range r.rules {
		if ru.always {
			always = true
		}
	}
	if !always {
		for _, t := range r.triggers {
			if t.fold {
				mark(st.lowered, t.lit)
			} else {
				mark(data, t.lit)
			}
		}
		for _, s := range r.secrets {
			mark(data, s)
		}
		sort.Ints(st.marks)
	}
	pos := 0 // bytes of data already written
	counted := 0
	lineAt := func(p int) int {
		st.line += bytes.Count(data[counted:p], []byte{'\n'})
		counted = p
		return st.line + 1
	}
	mi := 0
	for pos < len(data) {
		var ls int
		switch {
		case st.inPEM || always:
			ls = pos
		default:
			for mi < len(st.marks) && st.marks[mi] < pos {
				mi++
			}
			if mi == len(st.marks) {
				ls = len(data)
			} else {
				ls = st.marks[mi]
			}
		}
		if ls > pos {
			if _, err := dst.Write(data[pos:ls]); err != nil {
				return err
			}
			st.res.Out += int64(ls - pos)
			pos = ls
			if pos == len(data) {
				break
			}
		}
		le := bytes.IndexByte(data[pos:], '\n')
		var line, nl []byte
		if le < 0 {
			line, nl = data[pos:], nil
		} else {
			line, nl = data[pos:pos+le], data[pos+le:pos+le+1]
		}
		out, emit := st.redactLine(line, lineAt(pos))
		if emit {
			if _, err := dst.Write(out); err != nil {
				return err
			}
			if _, err := dst.Write(nl); err != nil {
				return err
			}
			st.res.Out += int64(len(out) + len(nl))
		}
		pos += len(line) + len(nl)
	}
	st.res.Lines = st.line + bytes.Count(data[counted:], []byte{'\n'})
	st.line = st.res.Lines
	return nil
}

func lower(dst, src []byte) {
	for i, c := range src {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
}

func (st *state) hit(line int, rule string, n int) {
	if n == 0 {
		return
	}
	st.res.Totals[rule] += n
	hs := st.res.Hits
	if k := len(hs) - 1; k >= 0 && hs[k].Line == line && hs[k].Rule == rule {
		hs[k].Count += n
		return
	}
	if len(hs) < MaxHits {
		st.res.Hits = append(hs, Hit{Line: line, Rule: rule, Count: n})
	}
}

func mask(rule string) []byte { return []byte(MaskPrefix + ":" + rule + "]") }

// redactLine returns the line to write, and false when the line is dropped
// entirely (the body of a PEM block after its first line).
func (st *state) redactLine(line []byte, n int) ([]byte, bool) {
	r := st.r
	out := line
	if st.inPEM {
		if loc := pemEnd.FindIndex(out); loc != nil {
			st.inPEM = false
			out = out[loc[0]:]
		} else {
			return nil, false
		}
	}
	// Whole blocks on one line (JSON-escaped keys), then maybe an opening
	// marker whose block continues on the next lines.
	var nb []byte
	rest, changed := out, false
	for {
		b := pemBegin.FindIndex(rest)
		if b == nil {
			break
		}
		changed = true
		nb = append(nb, rest[:b[1]]...)
		nb = append(nb, mask(pemRule)...)
		st.hit(n, pemRule, 1)
		e := pemEnd.FindIndex(rest[b[1]:])
		if e == nil {
			st.inPEM = true
			rest = nil
			break
		}
		nb = append(nb, rest[b[1]+e[0]:b[1]+e[1]]...)
		rest = rest[b[1]+e[1]:]
	}
	if changed {
		out = append(nb, rest...)
	}
	for _, s := range r.secrets {
		if c := bytes.Count(out, s); c > 0 {
			out = bytes.ReplaceAll(out, s, mask(SecretParamRule))
			st.hit(n, SecretParamRule, c)
		}
	}
	var low []byte
	for i := range r.rules {
		ru := &r.rules[i]
		if !ru.always {
			found := false
			for _, ti := range ru.trig {
				t := r.triggers[ti]
				if t.fold {
					if low == nil {
						low = make([]byte, len(out))
						lower(low, out)
					}
					found = bytes.Contains(low, t.lit)
				} else {
					found = bytes.Contains(out, t.lit)
				}
				if found {
					break
				}
			}
			if !found {
				continue
			}
		}
		ms := ru.re.FindAllSubmatchIndex(out, -1)
		if len(ms) == 0 {
			continue
		}
		var nb []byte
		last, count := 0, 0
		for _, m := range ms {
			s, e := m[2*ru.secret], m[2*ru.secret+1]
			if s < 0 || s == e || bytes.HasPrefix(out[s:e], []byte(MaskPrefix)) || bytes.HasPrefix(out[s:e], []byte(`"`+MaskPrefix)) {
				continue
			}
			if ru.key >= 0 && m[2*ru.key] >= 0 && len(ru.skipKeys) > 0 {
				k := strings.ToLower(string(out[m[2*ru.key]:m[2*ru.key+1]]))
				skip := false
				for _, sk := range ru.skipKeys {
					skip = skip || k == sk
				}
				if skip {
					continue
				}
			}
			nb = append(nb, out[last:s]...)
			nb = append(nb, mask(ru.name)...)
			last = e
			count++
		}
		if count > 0 {
			nb = append(nb, out[last:]...)
			out = nb
			low = nil
			st.hit(n, ru.name, count)
		}
	}
	if r.pseudo != nil {
		var k int
		out, k = r.pseudo.Bytes(out)
		st.res.Pseudonyms += k
	}
	return out, true
}
