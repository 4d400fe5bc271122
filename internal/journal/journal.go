package journal

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/adrg/xdg"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Version is the journal format version written in every header.
const Version = 1

// Line types the journal adds to the engine's own event types.
const (
	// TypeHeader is the first line of every journal.
	TypeHeader engine.EventType = "journal.header"
	// EvStop records that a driver stopped a session that had not ended
	// (needs a human, runtime failure, interrupted). Outcome says which.
	EvStop engine.EventType = "session.stop"
)

// ErrLocked is returned when another live process is writing the journal.
var ErrLocked = errors.New("session is in use by another runbook process")

// ErrNotFound is returned when no journal matches a session id.
var ErrNotFound = errors.New("no such session")

// Header is the first line of a journal: what resuming needs besides events.
type Header struct {
	Type     engine.EventType    `json:"type"`
	Journal  int                 `json:"journal"`
	ID       string              `json:"id"`
	Runbook  string              `json:"runbook"`
	Title    string              `json:"title,omitempty"`
	File     string              `json:"file,omitempty"`     // where the runbook was loaded from
	SHA256   string              `json:"sha256,omitempty"`   // of Source
	Source   string              `json:"source"`             // the runbook YAML as it ran
	Includes []Include           `json:"includes,omitempty"` // the files its calls read, as they ran
	Targets  map[string][]string `json:"targets,omitempty"`
	// Addrs is where hosts named by an inventory are dialled (engine.Host
	// Addr), by name.
	Addrs    map[string]string `json:"addrs,omitempty"`
	Params   map[string]string `json:"params,omitempty"`   // raw values; secrets left out
	Captures map[string]string `json:"captures,omitempty"` // --capture STEP.NAME=VALUE presets
	StartAt  string            `json:"start_at,omitempty"`
	DryRun   bool              `json:"dry_run,omitempty"`
	Started  time.Time         `json:"started"`
	PID      int               `json:"pid"`
	Hostname string            `json:"hostname,omitempty"`
	// Demo is set for `runbook demo` sessions: their hosts were simulated,
	// and resume starts the same simulated hosts again.
	Demo *Demo `json:"demo,omitempty"`
}

// Include is a file the runbook calls (call: file), as it ran.
type Include struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Source string `json:"source"`
}

// Includes turns a runbook's called files into header entries.
func Includes(rb *engine.Runbook) []Include {
	var out []Include
	for _, inc := range rb.Includes {
		out = append(out, Include{Path: inc.Path, SHA256: sum(string(inc.Raw)), Source: string(inc.Raw)})
	}
	return out
}

// ReadInclude reads called files from the header, so a resumed session
// runs the sub-procedures it started with, not what the files say now.
func (h Header) ReadInclude(path string) ([]byte, error) {
	for _, inc := range h.Includes {
		if inc.Path == path {
			return []byte(inc.Source), nil
		}
	}
	return nil, fmt.Errorf("the journal holds no copy of %s (the runbook called other files when it started)", path)
}

// Demo says which shipped scenario simulated a session's hosts.
type Demo struct {
	Scenario string  `json:"scenario"`
	File     string  `json:"file,omitempty"`  // the scenario file, for a runbook file's own scenarios (demo FILE)
	Speed    float64 `json:"speed,omitempty"` // wait clock speed-up
}

// Dir is where journals live: $XDG_STATE_HOME/runbook/sessions.
func Dir() string { return filepath.Join(xdg.StateHome, "runbook", "sessions") }

// NewID returns a session id that sorts by start time:
// 20261128T043000Z-<runbook-id>-<4 hex digits>.
func NewID(runbookID string, now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + safeName(runbookID) + "-" + hex.EncodeToString(b[:])
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName keeps a runbook id usable inside a file name.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if s == "" || s == "." || s == ".." {
		return "runbook"
	}
	return s
}

// Path is the journal file of session id in dir. The id must be a plain
// name (no separators), so a crafted id cannot point outside dir.
func Path(dir, id string) (string, error) {
	if id == "" || id != filepath.Base(id) || strings.HasPrefix(id, ".") {
		return "", fmt.Errorf("session id %q: %w", id, ErrNotFound)
	}
	return filepath.Join(dir, id+".jsonl"), nil
}

// durable are the line types followed by fsync: the facts resuming relies on.
var durable = map[engine.EventType]bool{
	engine.EvDecision: true, engine.EvAnswer: true, engine.EvConfirm: true, engine.EvDecline: true,
	engine.EvManualDone: true, engine.EvResult: true, engine.EvOverride: true, engine.EvBack: true,
	engine.EvNote: true, engine.EvSimulated: true, engine.EvError: true, engine.EvSessionEnd: true,
	EvStop: true, TypeHeader: true,
}

// Writer appends events to one journal. It is safe for concurrent use (the
// engine may emit from executor goroutines).
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  int
	err  error
	cap  outputCap // flood.go
	// written counts lines written (under mu); synced is how many of them
	// an fsync has covered (under syncMu). Durable events wait for the
	// fsync that covers their line, and goroutines ending together (a
	// group step's hosts) share one: group commit.
	written uint64
	// unsettled: the line count to sync up to for each durable event
	// Written and not Settled yet, by Seq (under mu).
	unsettled map[int]uint64
	syncMu    sync.Mutex
	synced    uint64
	fsync     func(*os.File) error // (*os.File).Sync; tests count calls
}

// SetMaxOutput sets the output kept per step, host and stream (default
// DefaultMaxOutput): pass the session's engine.Options.MaxOutput.
func (w *Writer) SetMaxOutput(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > 0 {
		w.cap.max = int64(n)
	}
}

// Create starts the journal of a new session in dir (created if needed)
// and writes its header.
func Create(dir string, h Header) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory %s: %w", dir, err)
	}
	path, err := Path(dir, h.ID)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	w := &Writer{f: f, path: path, cap: outputCap{max: DefaultMaxOutput}}
	h.Type, h.Journal = TypeHeader, Version
	if err := w.write(h, true); err != nil {
		f.Close()
		return nil, err
	}
	syncDir(dir)
	return w, nil
}

// Append reopens an existing journal to continue it (resume). It fails with
// ErrLocked while another process still writes it. seq is the last sequence
// number in the journal, for the Stop lines this writer adds.
func Append(path string, seq int) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	// A process killed mid-write leaves a torn last line: end it so the next
	// line starts clean (Read skips the torn one).
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte("\n")); err != nil {
				f.Close()
				return nil, fmt.Errorf("repair journal %s: %w", path, err)
			}
		}
	}
	return &Writer{f: f, path: path, seq: seq, cap: outputCap{max: DefaultMaxOutput}}, nil
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

// Event appends one event and returns once it is durable, when its type
// must be (Write, then Settle). It never fails the session: the first
// error is kept for Err, and later events are still attempted.
func (w *Writer) Event(e engine.Event) {
	if n, ok := w.event(e); ok {
		w.syncUpTo(n)
	}
}

// Write appends one event without waiting for it to be durable: the
// session's OnEvent, in event order. Settle waits.
func (w *Writer) Write(e engine.Event) {
	n, durable := w.event(e)
	switch {
	case !durable:
	case e.Seq == 0:
		w.syncUpTo(n) // no Seq to settle it by
	default:
		w.mu.Lock()
		if w.unsettled == nil {
			w.unsettled = map[int]uint64{}
		}
		w.unsettled[e.Seq] = n
		w.mu.Unlock()
	}
}

// Settle returns once the event Write appended is durable, if its type
// must be: the session's Settle, outside its event lock, so goroutines
// settling together share one fsync (group commit).
func (w *Writer) Settle(e engine.Event) {
	w.mu.Lock()
	n, ok := w.unsettled[e.Seq]
	delete(w.unsettled, e.Seq)
	w.mu.Unlock()
	if ok {
		w.syncUpTo(n)
	}
}

// event writes e's lines; ok says e must be durable before Event returns,
// and n is the count of lines written by then.
func (w *Writer) event(e engine.Event) (n uint64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Seq > w.seq {
		w.seq = e.Seq
	}
	// Output is bounded per step (flood.go): the head now, the tail when
	// the step's result for that host comes.
	if e.Type == engine.EvOutput {
		var ok bool
		if e, ok = w.cap.output(e); !ok {
			return 0, false
		}
	} else {
		for _, t := range w.cap.flush(func(o engine.Event) bool {
			return e.Type != engine.EvResult || (o.Step == e.Step && o.Host == e.Host)
		}) {
			w.writeKeep(t)
		}
	}
	w.writeKeep(e)
	return w.written, durable[e.Type]
}

// syncUpTo returns once an fsync covers the first n lines: one fsync for
// everybody waiting meanwhile.
func (w *Writer) syncUpTo(n uint64) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced >= n {
		return
	}
	w.mu.Lock()
	f, target := w.f, w.written
	w.mu.Unlock()
	if f == nil {
		return // closed: Close synced it
	}
	sync := w.fsync
	if sync == nil {
		sync = (*os.File).Sync
	}
	err := sync(f)
	if err == nil {
		w.synced = target
		return
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = fmt.Errorf("sync journal %s: %w", w.path, err)
	}
	w.mu.Unlock()
}

// writeKeep writes v without an fsync (Event waits for one through
// syncUpTo) and keeps the first error.
func (w *Writer) writeKeep(v any) {
	if err := w.write(v, false); err != nil && w.err == nil {
		w.err = err
	}
}

// Stop records that the driver stopped a session that has not ended.
func (w *Writer) Stop(outcome, step, reason string, now time.Time) {
	w.mu.Lock()
	seq := w.seq + 1
	w.mu.Unlock()
	w.Event(engine.Event{Seq: seq, Time: now, Type: EvStop, Outcome: engine.Outcome(outcome), Step: step, Reason: reason})
}

// Err is the first write error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close syncs and closes the journal, releasing its lock.
func (w *Writer) Close() error {
	w.syncMu.Lock() // no fsync of a file being closed
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return w.err
	}
	for _, t := range w.cap.flush(func(engine.Event) bool { return true }) {
		w.writeKeep(t)
	}
	serr := w.f.Sync()
	cerr := w.f.Close()
	w.f = nil
	return errors.Join(w.err, serr, cerr)
}

func (w *Writer) write(v any, sync bool) error {
	if w.f == nil {
		return fmt.Errorf("journal %s: closed", w.path)
	}
	// Post-escaped (C1 and bidi runes as \u): `cat` of a journal is safe.
	b, err := untrusted.MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("encode journal line: %w", err)
	}
	b = append(b, '\n')
	// One write per line: a kill can tear at most the line being written.
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("write journal %s: %w", w.path, err)
	}
	w.written++
	if sync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("sync journal %s: %w", w.path, err)
		}
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Read returns a journal's header and events. A torn last line (the process
// died while writing it) is skipped; a damaged line elsewhere is an error;
// a runbook source that does not match the header's sha256 is refused
// (ErrTampered).
func Read(path string) (Header, []engine.Event, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Header{}, nil, fmt.Errorf("read journal: %w", err)
	}
	return parse(path, data)
}

func parse(path string, data []byte) (Header, []engine.Event, error) {
	var h Header
	var evs []engine.Event
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if i == 0 {
			if err := json.Unmarshal(line, &h); err != nil || h.Type != TypeHeader {
				return h, nil, fmt.Errorf("journal %s: line 1: not a journal header", path)
			}
			if h.Journal > Version {
				return h, nil, fmt.Errorf("journal %s: format %d is newer than this runbook (%d)", path, h.Journal, Version)
			}
			continue
		}
		var e engine.Event
		if err := json.Unmarshal(line, &e); err != nil {
			// A line torn by a kill: the last one, or one that Append closed
			// with a newline before a resume went on. It carries nothing the
			// resume relied on (fsync'd facts are whole lines).
			if !json.Valid(line) {
				continue
			}
			return h, nil, fmt.Errorf("journal %s: line %d: %w", path, i+1, err)
		}
		evs = append(evs, e)
	}
	if h.Type != TypeHeader {
		return h, nil, fmt.Errorf("journal %s: empty", path)
	}
	// What is resumed must be what was started (verify.go).
	if err := h.VerifySource(); err != nil {
		return h, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return h, evs, nil
}

// Resolve finds the journal of a session id in dir. A unique prefix of an
// id is accepted, so people can type the start of a long id.
func Resolve(dir, id string) (string, error) {
	p, err := Path(dir, id)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("list sessions in %s: %w", dir, err)
	}
	var found []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".jsonl"); ok && strings.HasPrefix(name, id) {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("session %q: %w (see `runbook sessions`)", id, ErrNotFound)
	case 1:
		return filepath.Join(dir, found[0]+".jsonl"), nil
	}
	return "", fmt.Errorf("session %q is ambiguous: %s", id, strings.Join(found, ", "))
}

// Session states in List.
const (
	StateRunning     = "running"     // a live process holds the journal
	StateEnded       = "ended"       // reached an end step (Outcome says which)
	StateStopped     = "stopped"     // a driver stopped it (Outcome: needs-human, failed, interrupted)
	StateInterrupted = "interrupted" // the process died mid-session (crash, kill -9)
)

// Summary is one session in List.
type Summary struct {
	ID       string    `json:"id"`
	Runbook  string    `json:"runbook"`
	Title    string    `json:"title,omitempty"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	LastStep string    `json:"last_step,omitempty"`
	State    string    `json:"state"`
	Outcome  string    `json:"outcome,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Demo     string    `json:"demo,omitempty"` // the scenario, for demo sessions
	Path     string    `json:"path"`
}

// Summarize reads one journal into a Summary.
func Summarize(path string) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	var s Summary
	s.Path = path
	first := true
	fold := engine.NewState("")
	var stop *engine.Event // the last stop, unless the session went on after it
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			first = false
			var h Header
			if err := json.Unmarshal(line, &h); err != nil || h.Type != TypeHeader {
				return s, fmt.Errorf("journal %s: not a journal", path)
			}
			s.ID, s.Runbook, s.Title, s.Started, s.DryRun = h.ID, h.Runbook, h.Title, h.Started, h.DryRun
			if h.Demo != nil {
				s.Demo = h.Demo.Scenario
			}
			s.Updated = h.Started
			continue
		}
		var e engine.Event
		if json.Unmarshal(line, &e) != nil {
			continue // torn line
		}
		if !e.Time.IsZero() {
			s.Updated = e.Time
		}
		fold.Apply(e)
		switch e.Type {
		case EvStop:
			stop = &e
		case engine.EvStepEnter, engine.EvBack, engine.EvResume:
			stop = nil // resumed and went on
		}
	}
	// The last step entered (or gone back to), as the session's fold has it.
	if v, ok := fold.InProgress(); ok {
		s.LastStep = v.Step
	} else {
		s.LastStep = fold.Current()
	}
	if ended, outcome, _ := fold.Ended(); ended {
		s.State, s.Outcome = StateEnded, string(outcome)
	} else if stop != nil {
		s.State, s.Outcome = StateStopped, string(stop.Outcome)
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("read journal %s: %w", path, err)
	}
	if first {
		return s, fmt.Errorf("journal %s: empty", path)
	}
	if locked(f) {
		s.State = StateRunning
		s.Outcome = ""
	} else if s.State == "" {
		s.State = StateInterrupted
	}
	return s, nil
}

// List summarises every journal in dir, oldest first.
func List(dir string) ([]Summary, []error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("list sessions in %s: %w", dir, err)}
	}
	var out []Summary
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		s, err := Summarize(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out, errs
}

// LastSeq is the highest sequence number among events.
func LastSeq(evs []engine.Event) int {
	n := 0
	for _, e := range evs {
		n = max(n, e.Seq)
	}
	return n
}

var _ io.Closer = (*Writer)(nil)
