package bundle

import (
	"archive/tar"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
)

// fileSink is where the archive's bytes go: an *os.File, or in tests a file
// whose disk fills up.
type fileSink interface {
	io.Writer
	Truncate(size int64) error
	Seek(offset int64, whence int) (int64, error)
	Sync() error
	Close() error
}

var _ fileSink = (*os.File)(nil)

// errStale is returned to a compressor abandoned by a rollback whose
// goroutines still try to write.
var errStale = errors.New("bundle: write after rollback")

// output counts and hashes what reaches the file. A rollback bumps gen so
// that writes from abandoned compressors are refused.
type output struct {
	mu  sync.Mutex
	f   fileSink
	n   int64
	h   hash.Hash
	gen int
	err error // sticky: the first write error of this generation
}

type genWriter struct {
	o   *output
	gen int
}

func (g genWriter) Write(p []byte) (int, error) {
	o := g.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if g.gen != o.gen {
		return 0, errStale
	}
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.f.Write(p)
	o.n += int64(n)
	o.h.Write(p[:n])
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		o.err = err
	}
	return n, err
}

// checkpoint is a member boundary that is also a gzip member boundary: the
// archive can be cut back to it and continued.
type checkpoint struct {
	off     int64
	hash    []byte // marshalled sha256 state
	entries int    // len(Writer.entries) at that point
	stored  int64  // Writer.stored at that point
	names   int    // len(Writer.order)
}

// archive is the tar stream over a chain of gzip members over output.
type archive struct {
	o      *output
	level  int
	pz     *pgzip.Writer // reused across members
	cur    io.WriteCloser
	tw     *tar.Writer
	since  int64 // uncompressed bytes since the last checkpoint
	cp     checkpoint
	closed bool
}

// CheckpointBytes is how much uncompressed data may follow a checkpoint
// before the next member boundary becomes one.
const CheckpointBytes = 4 << 20

func newArchive(f fileSink, level int) *archive {
	a := &archive{o: &output{f: f, h: sha256.New()}, level: level}
	a.tw = tar.NewWriter(switchWriter{a})
	a.cp = checkpoint{hash: a.hashState()}
	return a
}

// switchWriter sends tar bytes to the current gzip member, opening a
// parallel one when none is open.
type switchWriter struct{ a *archive }

func (s switchWriter) Write(p []byte) (int, error) {
	a := s.a
	if a.cur == nil {
		if err := a.openParallel(); err != nil {
			return 0, err
		}
	}
	a.since += int64(len(p))
	return a.cur.Write(p)
}

func (a *archive) sink() io.Writer { return genWriter{a.o, a.o.gen} }

func (a *archive) openParallel() error {
	if a.pz == nil {
		z, err := pgzip.NewWriterLevel(a.sink(), a.level)
		if err != nil {
			return err
		}
		a.pz = z
	} else {
		a.pz.Reset(a.sink())
	}
	// 1 MiB blocks, one per core plus one in flight: bounded memory.
	if err := a.pz.SetConcurrency(1<<20, 4); err != nil {
		return err
	}
	a.cur = a.pz
	return nil
}

func (a *archive) openStored() error {
	z, err := kgzip.NewWriterLevel(a.sink(), kgzip.NoCompression)
	if err != nil {
		return err
	}
	a.cur = z
	return nil
}

// endMember closes the open gzip member, if any.
func (a *archive) endMember() error {
	if err := a.tw.Flush(); err != nil { // the previous tar member's padding
		return err
	}
	if a.cur == nil {
		return nil
	}
	err := a.cur.Close()
	a.cur = nil
	if err != nil {
		return err
	}
	a.o.mu.Lock()
	defer a.o.mu.Unlock()
	return a.o.err
}

func (a *archive) hashState() []byte {
	b, _ := a.o.h.(encoding.BinaryMarshaler).MarshalBinary()
	return b
}

// checkpoint ends the gzip member and records the boundary.
func (a *archive) checkpoint(cp checkpoint) error {
	if err := a.endMember(); err != nil {
		return err
	}
	cp.off = a.o.n
	cp.hash = a.hashState()
	a.cp = cp
	a.since = 0
	return nil
}

// rollback abandons everything after the last checkpoint: the open member,
// and the bytes on disk. It returns the checkpoint it went back to.
func (a *archive) rollback() (checkpoint, error) {
	a.o.mu.Lock()
	a.o.gen++
	a.o.mu.Unlock()
	if a.cur != nil {
		_ = a.cur.Close() // stops pgzip's goroutines; their writes are stale
		a.cur = nil
	}
	a.o.mu.Lock()
	defer a.o.mu.Unlock()
	a.o.err = nil
	if err := a.o.f.Truncate(a.cp.off); err != nil {
		return a.cp, fmt.Errorf("truncate partial archive: %w", err)
	}
	if _, err := a.o.f.Seek(a.cp.off, io.SeekStart); err != nil {
		return a.cp, fmt.Errorf("seek partial archive: %w", err)
	}
	a.o.n = a.cp.off
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(a.cp.hash); err != nil {
		return a.cp, err
	}
	a.o.h = h
	a.tw = tar.NewWriter(switchWriter{a})
	a.since = 0
	return a.cp, nil
}

// writeErr is the sink's error, if the last failure came from the file.
func (a *archive) writeErr() error {
	a.o.mu.Lock()
	defer a.o.mu.Unlock()
	return a.o.err
}

// finish writes the tar trailer and closes the last gzip member.
func (a *archive) finish() error {
	if err := a.tw.Close(); err != nil {
		return err
	}
	if a.cur != nil {
		err := a.cur.Close()
		a.cur = nil
		if err != nil {
			return err
		}
	}
	a.closed = true
	return a.writeErr()
}

func (a *archive) sum() string { return hex.EncodeToString(a.o.h.Sum(nil)) }

// member is one archive member being written: exactly size bytes, hashed.
type memberWriter struct {
	a       *archive
	size    int64
	n       int64
	h       hash.Hash
	sinkErr error
	over    bool // the source had more bytes than declared
}

func (a *archive) begin(name string, size int64, mtime time.Time, stored bool) (*memberWriter, error) {
	if stored {
		if err := a.endMember(); err != nil {
			return nil, err
		}
		if err := a.openStored(); err != nil {
			return nil, err
		}
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  mtime.UTC().Truncate(time.Second),
		Format:   tar.FormatPAX,
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	return &memberWriter{a: a, size: size, h: sha256.New()}, nil
}

func (m *memberWriter) Write(p []byte) (int, error) {
	if m.sinkErr != nil {
		return 0, m.sinkErr
	}
	in := len(p)
	if rest := m.size - m.n; int64(len(p)) > rest {
		p = p[:rest]
		m.over = true
	}
	if len(p) == 0 {
		return in, nil
	}
	n, err := m.a.tw.Write(p)
	m.n += int64(n)
	m.h.Write(p[:n])
	if err != nil {
		m.sinkErr = err
		return n, err
	}
	return in, nil
}

// pad fills the member up to its declared size after a short source, so
// that the archive stays valid; it returns how many bytes it added.
func (m *memberWriter) pad(b byte) (int64, error) {
	missing := m.size - m.n
	if missing <= 0 {
		return 0, nil
	}
	buf := make([]byte, min(missing, 32<<10))
	for i := range buf {
		buf[i] = b
	}
	for m.n < m.size {
		k := min(int64(len(buf)), m.size-m.n)
		if _, err := m.Write(buf[:k]); err != nil {
			return missing - (m.size - m.n), err
		}
	}
	return missing, nil
}

// end finishes the member; stored members get their own gzip member closed.
func (m *memberWriter) end(stored bool) (string, error) {
	if m.sinkErr != nil {
		return "", m.sinkErr
	}
	if stored {
		if err := m.a.endMember(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(m.h.Sum(nil)), nil
}
