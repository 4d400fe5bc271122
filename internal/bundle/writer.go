package bundle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/pgzip"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/redact"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Defaults for Options.
const (
	DefaultMaxFileBytes    = 256 << 20
	DefaultMaxBytes        = 4 << 30
	DefaultCommandMaxBytes = 8 << 20
	DefaultSpoolBytes      = 4 << 20
	DefaultTranscriptBytes = 32 << 20
)

// ErrClosed is returned when collecting into a finished bundle.
var ErrClosed = errors.New("bundle already closed")

// Options configure a bundle.
type Options struct {
	// Path is the archive to write. If it is empty or an existing directory
	// (or ends in a slash), the archive is named
	// runbook-<id>-<UTC time>.tar.gz inside it (default: the current
	// directory).
	Path    string
	Runbook *engine.Runbook
	Targets map[string][]engine.Host
	// ToolVersion goes into the manifest.
	ToolVersion string
	// NoRedact stores everything as collected; the archive name says
	// UNREDACTED.
	NoRedact bool
	// Pseudonymise replaces IP addresses and host names with stable
	// stand-ins everywhere in the bundle (redact.Pseudonymiser) and writes
	// the map beside it (PseudonymMap). It needs redaction on.
	Pseudonymise bool
	// Secrets are literal values to mask wherever they appear
	// (engine.Session.Secrets()).
	Secrets []string
	// Bounds (0: defaults). MaxFileBytes keeps the tail of larger text files;
	// MaxBytes caps all stored bytes; CommandMaxBytes caps one command's
	// output (spooled in memory: it has no size up front); SpoolBytes caps
	// files read from a reader that cannot seek.
	MaxFileBytes    int64
	MaxBytes        int64
	CommandMaxBytes int64
	SpoolBytes      int64
	TranscriptBytes int64
	// Level is the gzip level of compressed members (default 1, fastest:
	// logs still shrink 5-10x and the disk or the network is the limit).
	Level int
	// Now is the clock (default time.Now).
	Now func() time.Time

	create func(name string) (fileSink, error) // tests: a disk that fills up
}

// HostInfo is what a transport learned about a host.
type HostInfo struct {
	HostKey   string         // SHA256 fingerprint
	KeyType   string         // the verified key's type
	Trust     string         // how it was trusted (known_hosts, cert-authority, accept-new, operator)
	Source    string         // known_hosts file:line that trusted it
	ClockSkew *time.Duration // remote minus local
}

// Final is how the session ended, for the manifest and the report.
type Final struct {
	Outcome     string // resolved, escalated, aborted, needs-human, failed, interrupted
	Message     string
	Interrupted bool  // Ctrl-C, lost terminal, cancelled context
	Err         error // why the session failed, if it did
	// Divergence: every pass through a per-host section (Session.Divergences).
	Divergence []engine.SectionPaths
}

// Writer builds one bundle. It implements engine.Collector; feed it every
// session event with Event, then Close it exactly once, on every path.
type Writer struct {
	opts     Options
	red      *redact.Redactor      // nil when NoRedact
	pseu     *redact.Pseudonymiser // nil unless Pseudonymise; red carries it too
	pseuPath string                // the map, once written
	path     string                // final name
	part     string                // path + ".partial"
	start    time.Time

	mu         sync.Mutex // archive, entries
	a          *archive
	entries    []Entry
	names      map[string]bool
	order      []string // member names in archive order
	stored     int64
	diskFull   error
	incomplete []string
	redItems   []RedactionItem
	redGaps    []RedactionGap
	redTotals  map[string]int
	hosts      map[string]HostInfo
	closed     bool

	ev transcript
}

var _ engine.Collector = (*Writer)(nil)

// New creates <name>.partial and returns a Writer; nothing else is written
// until files arrive or Close.
func New(opts Options) (*Writer, error) {
	if opts.Runbook == nil {
		return nil, errors.New("bundle: no runbook")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MaxFileBytes, DefaultMaxFileBytes)
	def(&opts.MaxBytes, DefaultMaxBytes)
	def(&opts.CommandMaxBytes, DefaultCommandMaxBytes)
	def(&opts.SpoolBytes, DefaultSpoolBytes)
	def(&opts.TranscriptBytes, DefaultTranscriptBytes)
	if opts.Level == 0 {
		opts.Level = pgzip.BestSpeed
	}
	w := &Writer{opts: opts, start: opts.Now(), names: map[string]bool{}, redTotals: map[string]int{}, hosts: map[string]HostInfo{}}
	if opts.Pseudonymise {
		if opts.NoRedact {
			return nil, errors.New("bundle: pseudonymisation needs redaction on (it is done in the same pass): drop --no-redact")
		}
		w.pseu = newPseudonymiser(opts.Targets)
		w.opts.Targets = w.pseudoTargets(opts.Targets)
	}
	if !opts.NoRedact {
		red, err := newRedactor(opts, w.pseu)
		if err != nil {
			return nil, err
		}
		w.red = red
	}
	w.ev.w = w
	var err error
	base, auto, err := archivePath(opts.Path, opts.Runbook.ID, w.start, opts.NoRedact)
	if err != nil {
		return nil, err
	}
	create := opts.create
	if create == nil {
		create = func(name string) (fileSink, error) {
			// O_EXCL|O_NOFOLLOW: a file or symlink planted at the name is
			// never written through.
			return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		}
	}
	// A name we chose (a directory was given) takes -2, -3... when two
	// sessions end in the same second; a name the operator gave is never
	// replaced.
	var f fileSink
	for n := 1; ; n++ {
		w.path = base
		if n > 1 {
			w.path = strings.TrimSuffix(base, ".tar.gz") + "-" + strconv.Itoa(n) + ".tar.gz"
		}
		w.part = w.path + ".partial"
		_, statErr := os.Lstat(w.path)
		if statErr == nil {
			if auto && n < 100 {
				continue
			}
			return nil, fmt.Errorf("bundle %s: already exists", w.path)
		}
		f, err = create(w.part)
		if err != nil && errors.Is(err, os.ErrExist) && auto && n < 100 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create bundle: %w", err)
		}
		break
	}
	w.a = newArchive(f, opts.Level)
	return w, nil
}

// Name is the archive's final path.
func (w *Writer) Name() string { return w.path }

// archivePath is where the bundle goes; auto says the name was chosen
// here (p is a directory), not given by the operator.
func archivePath(p, id string, t time.Time, unredacted bool) (string, bool, error) {
	ts := t.UTC().Format("20060102T150405Z")
	name := "runbook-" + escapeSegment(id) + "-" + ts + ".tar.gz"
	if unredacted {
		name = "runbook-" + escapeSegment(id) + "-UNREDACTED-" + ts + ".tar.gz"
	}
	if p == "" {
		p = "."
	}
	if fi, err := os.Stat(p); (err == nil && fi.IsDir()) || strings.HasSuffix(p, string(filepath.Separator)) {
		if err != nil {
			return "", false, fmt.Errorf("bundle directory %s: %w", p, err)
		}
		return filepath.Join(p, name), true, nil
	}
	if unredacted && !strings.Contains(filepath.Base(p), "UNREDACTED") {
		base := strings.TrimSuffix(filepath.Base(p), ".tar.gz")
		p = filepath.Join(filepath.Dir(p), base+"-UNREDACTED.tar.gz")
	}
	return p, false, nil
}

// Secrets returns the literal values being masked.
func (w *Writer) Secrets() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.opts.Secrets...)
}

// SetSecrets replaces the literal secret values to mask. The session knows
// them only once it exists, and it needs the Writer as its Collector, so
// drivers call this right after engine.NewSession (before Advance).
func (w *Writer) SetSecrets(secrets []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ev.mu.Lock()
	defer w.ev.mu.Unlock()
	w.opts.Secrets = secrets
	if w.red == nil {
		return nil
	}
	red, err := newRedactor(w.opts, w.pseu)
	if err != nil {
		return err
	}
	w.red = red
	return nil
}

func newRedactor(opts Options, p *redact.Pseudonymiser) (*redact.Redactor, error) {
	rules := redact.DefaultRules()
	for _, r := range opts.Runbook.Redact {
		rules = append(rules, redact.Rule{Name: r.Name, Pattern: r.Pattern})
	}
	red, err := redact.New(rules, opts.Secrets)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if p != nil {
		red.SetPseudonymiser(p)
	}
	return red, nil
}

// SetHost records what the transport knows about a host (host key
// fingerprint, measured clock skew), for the manifest.
func (w *Writer) SetHost(name string, info HostInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	name = w.pseudo(name)
	info.Source = w.pseudo(info.Source)
	// Transports learn these at different times (clock skew at the first
	// command, the host key at the handshake): keep what is already known.
	old := w.hosts[name]
	if info.HostKey == "" {
		info.HostKey, info.KeyType, info.Trust, info.Source = old.HostKey, old.KeyType, old.Trust, old.Source
	}
	if info.ClockSkew == nil {
		info.ClockSkew = old.ClockSkew
	}
	w.hosts[name] = info
}

func (w *Writer) addEntry(e Entry) {
	w.entries = append(w.entries, e)
}

// uniqueName returns name, or name with "~2", "~3"... before any extension
// when it is taken (two remote paths that escape alike cannot collide).
func (w *Writer) uniqueName(name string) string {
	if !w.names[name] {
		w.names[name] = true
		return name
	}
	dir, base := filepath.Split(name)
	ext := ""
	if i := strings.IndexByte(base, '.'); i > 0 {
		base, ext = base[:i], base[i:]
	}
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s%s~%d%s", dir, base, i, ext)
		if !w.names[n] {
			w.names[n] = true
			return n
		}
	}
}

// writeMember stores one member from fill and handles a full disk: on a
// sink error the archive goes back to its last checkpoint, the entries after
// it are marked lost, and ok is false. fill returns the source's error (a
// read failure or timeout), which leaves a padded but valid member.
func (w *Writer) writeMember(name string, size int64, mtime time.Time, stored bool, padByte byte, fill func(*memberWriter) error) (sha string, padded int64, srcErr error, ok bool) {
	a := w.a
	if stored || a.since >= CheckpointBytes || size >= CheckpointBytes {
		if err := a.checkpoint(checkpoint{entries: len(w.entries), stored: w.stored, names: len(w.order)}); err != nil {
			w.lostToDisk(err)
			return "", 0, nil, false
		}
	}
	m, err := a.begin(name, size, mtime, stored)
	if err != nil {
		w.lostToDisk(err)
		return "", 0, nil, false
	}
	srcErr = fill(m)
	if m.sinkErr == nil && m.n < m.size {
		padded, _ = m.pad(padByte)
	}
	sha, err = m.end(stored)
	if err != nil || a.writeErr() != nil {
		w.lostToDisk(errors.Join(err, a.writeErr()))
		return "", 0, srcErr, false
	}
	if m.over && srcErr == nil {
		srcErr = errors.New("file grew or changed while it was read: stored the declared size")
	}
	w.order = append(w.order, name)
	w.stored += size
	return sha, padded, srcErr, true
}

// lostToDisk rolls back to the last checkpoint after a write failure.
func (w *Writer) lostToDisk(cause error) {
	if cause == nil {
		cause = errors.New("write failed")
	}
	cp, err := w.a.rollback()
	reason := "lost: " + cause.Error()
	for i := cp.entries; i < len(w.entries); i++ {
		e := &w.entries[i]
		if e.Member != "" {
			e.Status, e.Error, e.Member, e.SHA256 = StatusError, reason, "", ""
		}
	}
	for _, n := range w.order[cp.names:] {
		delete(w.names, n)
	}
	w.order = w.order[:cp.names]
	w.stored = cp.stored
	if w.diskFull == nil {
		w.diskFull = cause
		w.incomplete = append(w.incomplete, "archive write failed (disk full?): "+cause.Error())
	}
	if err != nil {
		w.incomplete = append(w.incomplete, err.Error())
	}
}

// Close finalises the archive: transcript, report, redaction report and
// manifest, then renames it into place and writes the detached .sha256. It
// runs to the end even when ctx is already cancelled (the work is bounded
// and local), and on failure removes every file it created.
func (w *Writer) Close(ctx context.Context, fin Final) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return "", ErrClosed
	}
	w.closed = true
	if fin.Interrupted || ctx.Err() != nil {
		w.incomplete = append(w.incomplete, "interrupted")
	}
	if fin.Err != nil {
		w.incomplete = append(w.incomplete, "session failed: "+w.redactString(fin.Err.Error()))
	}
	if !w.ev.ended && !fin.Interrupted {
		w.incomplete = append(w.incomplete, "session did not reach an end step")
	}
	m := w.manifest(fin)
	if err := w.finalise(m, true); err != nil {
		// Try once more with the manifest alone, from the last checkpoint.
		w.lostToDisk(err)
		m = w.manifest(fin)
		if err2 := w.finalise(m, false); err2 != nil {
			w.abandon()
			return "", fmt.Errorf("finalise bundle %s: %w", w.path, errors.Join(err, err2))
		}
	}
	if err := w.a.o.f.Sync(); err != nil {
		w.abandon()
		return "", fmt.Errorf("sync bundle: %w", err)
	}
	if err := w.a.o.f.Close(); err != nil {
		_ = os.Remove(w.part)
		return "", fmt.Errorf("close bundle: %w", err)
	}
	if err := os.Rename(w.part, w.path); err != nil {
		_ = os.Remove(w.part)
		return "", fmt.Errorf("rename bundle: %w", err)
	}
	sum := w.a.sum()
	line := sum + "  " + filepath.Base(w.path) + "\n"
	tmp, err := writeTemp(w.path+".sha256", []byte(line), 0o644)
	if err != nil {
		return w.path, fmt.Errorf("write %s.sha256: %w", w.path, err)
	}
	if err := os.Rename(tmp, w.path+".sha256"); err != nil {
		_ = os.Remove(tmp)
		return w.path, fmt.Errorf("write %s.sha256: %w", w.path, err)
	}
	if err := w.writePseudoMap(sum); err != nil {
		return w.path, err
	}
	return w.path, nil
}

// writeTemp writes data to a new temporary file next to final (same
// directory, so a rename is atomic) and returns its name. The name is
// random and the file is created O_EXCL|O_NOFOLLOW: a symlink planted
// where a predictable temporary name would be (the old
// `<bundle>.sha256.partial`) is never followed to overwrite its target.
func writeTemp(final string, data []byte, mode os.FileMode) (string, error) {
	var f *os.File
	var name string
	for range 100 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		name = final + "." + hex.EncodeToString(b[:]) + ".partial"
		var err error
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		f = nil
	}
	if f == nil {
		return "", fmt.Errorf("no free temporary name for %s", final)
	}
	_, err := f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}

func (w *Writer) abandon() {
	_ = w.a.o.f.Close()
	_ = os.Remove(w.part)
}

// finalise writes the generated members after a checkpoint. full=false
// writes only the manifest (the retry after a full disk).
func (w *Writer) finalise(m *Manifest, full bool) error {
	if err := w.a.checkpoint(checkpoint{entries: len(w.entries), stored: w.stored, names: len(w.order)}); err != nil {
		return err
	}
	now := w.opts.Now()
	type gen struct {
		name, kind string
		data       []byte
	}
	var gens []gen
	if full {
		tr := w.ev.bytes()
		rep := w.report(m)
		red, _ := untrusted.MarshalJSONIndent(w.redactionReport(), "", "  ")
		gens = []gen{{TranscriptName, KindTranscript, tr}, {ReportName, KindReport, rep}, {RedactionsName, KindRedactions, append(red, '\n')}}
	} else {
		for _, k := range []struct{ name, kind string }{{TranscriptName, KindTranscript}, {ReportName, KindReport}, {RedactionsName, KindRedactions}} {
			m.Entries = append(m.Entries, Entry{Kind: k.kind, Status: StatusError, Error: "not written: " + w.diskFull.Error()})
		}
	}
	for _, g := range gens {
		sum := sha256.Sum256(g.data)
		m.Entries = append(m.Entries, Entry{Kind: g.kind, Member: g.name, Status: StatusOK, BytesBefore: int64(len(g.data)), BytesAfter: int64(len(g.data)), SHA256: hex.EncodeToString(sum[:])})
	}
	// Every JSON member is post-escaped (C1 and bidi runes as \u), so
	// `cat manifest.json` cannot drive the reader's terminal.
	mj, err := untrusted.MarshalJSONIndent(m, "", "  ")
	if err != nil {
		return err
	}
	mj = append(mj, '\n')
	msum := sha256.Sum256(mj)
	gens = append(gens, gen{ManifestName, "", mj}, gen{ManifestDigestName, "", []byte(hex.EncodeToString(msum[:]) + "  " + ManifestName + "\n")})
	for _, g := range gens {
		mw, err := w.a.begin(g.name, int64(len(g.data)), now, false)
		if err != nil {
			return err
		}
		if _, err := mw.Write(g.data); err != nil {
			return err
		}
	}
	if err := w.a.finish(); err != nil {
		return err
	}
	return w.a.writeErr()
}

// manifest assembles the manifest from what is known now.
func (w *Writer) manifest(fin Final) *Manifest {
	rb := w.opts.Runbook
	m := &Manifest{
		Format:        FormatVersion,
		Tool:          "runbook",
		ToolVersion:   w.opts.ToolVersion,
		Runbook:       RunbookInfo{ID: rb.ID, Title: rb.Title, Source: rb.Source, File: filepath.Base(rb.File), SHA256: rb.SHA256},
		Started:       w.start.UTC(),
		Ended:         w.opts.Now().UTC(),
		Outcome:       fin.Outcome,
		Message:       w.redactString(fin.Message),
		Status:        BundleComplete,
		Limits:        Limits{MaxFileBytes: w.opts.MaxFileBytes, MaxBytes: w.opts.MaxBytes, CommandMaxBytes: w.opts.CommandMaxBytes},
		Entries:       append([]Entry(nil), w.entries...),
		Pseudonymised: w.pseu != nil,
		Divergence:    w.pseudoDivergence(fin.Divergence),
	}
	if fin.Outcome == "" && w.ev.outcome != "" {
		m.Outcome = string(w.ev.outcome)
	}
	if !w.ev.first.IsZero() {
		m.Started = w.ev.first.UTC()
	}
	roles := engine.SortedKeys(w.opts.Targets)
	for _, role := range roles {
		for _, h := range w.opts.Targets[role] {
			t := TargetInfo{Role: role, Name: h.Name, Host: h.Address(), User: h.User()}
			if info, ok := w.hosts[h.Name]; ok {
				t.HostKey, t.HostKeyType, t.HostKeyTrust, t.HostKeyTrustSource = info.HostKey, info.KeyType, info.Trust, info.Source
				if info.ClockSkew != nil {
					s := info.ClockSkew.Seconds()
					t.ClockSkew = &s
				}
			}
			m.Targets = append(m.Targets, t)
		}
	}
	switch {
	case w.red == nil:
		m.Redacted = RedactedNone
	case len(w.redGaps) > 0:
		m.Redacted = RedactedPartial
	default:
		m.Redacted = RedactedAll
	}
	for _, e := range m.Entries {
		if why := notCollected(e); why != "" {
			m.Partial = append(m.Partial, why)
		}
	}
	if len(m.Partial) > 0 {
		m.Status = BundlePartial
	}
	if len(w.incomplete) > 0 {
		m.Status = BundleIncomplete
		m.Incomplete = append([]string(nil), w.incomplete...)
	}
	m.TranscriptHead = w.ev.head()
	return m
}

// notCollected says why an entry was asked for but not collected in full
// ("" when it was): an error, a timeout, a denial, a skip (binary, no
// match, over a cap), or a file that changed while it was read. A symbolic
// link recorded and not followed is by design, not a gap.
func notCollected(e Entry) string {
	what := e.Path
	if e.Kind == KindCommand {
		what = e.Command
	}
	switch {
	case e.Rotated != "":
		return fmt.Sprintf("%s %s: changed while read (%s)", e.Host, what, e.Rotated)
	case e.Status == StatusOK || e.Status == StatusTruncated:
		return ""
	case e.Status == StatusSkipped && e.Link != "":
		return ""
	}
	return fmt.Sprintf("%s %s: %s: %s", e.Host, what, e.Status, e.Error)
}

func (w *Writer) redactionReport() *RedactionReport {
	rr := &RedactionReport{Enabled: w.red != nil, Totals: w.redTotals, Items: w.redItems, NotDone: w.redGaps}
	if w.red != nil {
		for _, r := range redact.DefaultRules() {
			rr.Rules = append(rr.Rules, r.Name)
		}
		rr.Rules = append(rr.Rules, "pem-private-key", redact.SecretParamRule)
		for _, r := range w.opts.Runbook.Redact {
			rr.Rules = append(rr.Rules, r.Name)
		}
		sort.Strings(rr.Rules)
	}
	if it, ok := w.ev.redactions(); ok {
		rr.Items = append(append([]RedactionItem(nil), rr.Items...), it)
		rr.Totals = map[string]int{}
		for k, v := range w.redTotals {
			rr.Totals[k] += v
		}
		for k, v := range it.Totals {
			rr.Totals[k] += v
		}
	}
	if rr.Items == nil {
		rr.Items = []RedactionItem{}
	}
	return rr
}

// noteRedaction records what redaction did to one member.
func (w *Writer) noteRedaction(member string, res *redact.Result) {
	if res == nil || len(res.Totals) == 0 {
		return
	}
	it := RedactionItem{Member: member, Totals: res.Totals, Truncated: len(res.Hits) >= redact.MaxHits}
	for _, h := range res.Hits {
		it.Hits = append(it.Hits, RedactionHit{Line: h.Line, Rule: h.Rule, Count: h.Count})
	}
	for k, v := range res.Totals {
		w.redTotals[k] += v
	}
	w.redItems = append(w.redItems, it)
}

func total(res *redact.Result) int {
	if res == nil {
		return 0
	}
	n := 0
	for _, v := range res.Totals {
		n += v
	}
	return n
}

// redactString masks one short string (a command, an error message).
func (w *Writer) redactString(s string) string {
	if w.red == nil || s == "" {
		return s
	}
	out, _ := w.red.String(s)
	return out
}
