package engine

import "io"

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
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
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
