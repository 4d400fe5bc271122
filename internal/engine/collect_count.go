package engine

import (
	"io"
	"time"
)

// FileReport is how a collector says what became of one file it was given
// (stored, truncated, skipped and why), so the collect event tells the same
// story as the bundle. The reader passed to Collector.File implements it
// when the session counts progress; collectors that know better than "the
// bytes were read" call it.
type FileReport interface {
	ReportFile(status, reason string, stored int64)
}

// countingReader counts the bytes a collector reads and takes its report.
type countingReader struct {
	r      io.Reader
	n      int64
	status string
	reason string
	stored int64
	rep    bool
	// progress, when set, hears the running count (Options.OnProgress).
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n)
	}
	return n, err
}

func (c *countingReader) ReportFile(status, reason string, stored int64) {
	c.status, c.reason, c.stored, c.rep = status, reason, stored, true
}

// countingReadSeeker keeps the transport's Seek visible: a collector that
// must read a file twice (count, then redact) relies on it, and hiding it
// made every text file over the spool limit (4 MiB) uncollectable.
type countingReadSeeker struct {
	*countingReader
	s io.Seeker
}

func (c countingReadSeeker) Seek(off int64, whence int) (int64, error) { return c.s.Seek(off, whence) }

// counted wraps r for counting, keeping io.Seeker when r has it.
func counted(r io.Reader) (*countingReader, io.Reader) {
	cr := &countingReader{r: r}
	if s, ok := r.(io.Seeker); ok {
		return cr, countingReadSeeker{cr, s}
	}
	return cr, cr
}

// FileChange is implemented by the readers executors pass to
// Collector.File: after the collector has read, Changed stats the file
// again and reports its size and mtime now, and how it changed under the
// read ("" when it only grew or did not change): truncated in place
// (copytruncate) or replaced by another file (rename rotation).
type FileChange interface {
	Changed() (size int64, mtime time.Time, rotated string)
}

// Changed forwards to the transport's reader.
func (c *countingReader) Changed() (int64, time.Time, string) {
	if fc, ok := c.r.(FileChange); ok {
		return fc.Changed()
	}
	return -1, time.Time{}, ""
}
