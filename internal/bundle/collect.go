package bundle

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/redact"
)

// compressedExt are names of files that are already compressed: stored as
// they are, never redacted (marked) and never tailed.
var compressedExt = []string{".gz", ".tgz", ".zst", ".xz", ".bz2", ".zip", ".lz4", ".7z"}

var compressedMagic = [][]byte{
	{0x1f, 0x8b},                       // gzip
	{0x28, 0xb5, 0x2f, 0xfd},           // zstd
	{0xfd, '7', 'z', 'X', 'Z', 0},      // xz
	{'B', 'Z', 'h'},                    // bzip2
	{'P', 'K', 0x03, 0x04},             // zip
	{0x04, 0x22, 0x4d, 0x18},           // lz4
	{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, // 7z
}

func isCompressed(name string, head []byte) bool {
	low := strings.ToLower(name)
	for _, e := range compressedExt {
		if strings.HasSuffix(low, e) {
			return true
		}
	}
	for _, m := range compressedMagic {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return false
}

// copyBufs are 1 MiB: an SFTP reader turns one big Read into many
// concurrent requests, so small buffers would serialise the transfer.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func copyN(dst io.Writer, src io.Reader, n int64) error {
	b := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(b)
	k, err := io.CopyBuffer(dst, io.LimitReader(src, n), *b)
	if err == nil && k < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// File implements engine.Collector. A problem with one file is recorded in
// its entry and File returns nil, so the executor goes on with the next;
// File returns an error only when collection must stop (cancelled, closed).
func (w *Writer) File(ctx context.Context, h engine.Host, step string, f engine.RemoteFile, r io.Reader) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, f.Path, f.Link = w.pseudoHost(h), w.pseudo(f.Path), w.pseudo(f.Link)
	mt := f.ModTime
	e := Entry{Kind: KindFile, Host: h.Name, Step: step, Path: f.Path, RemoteSize: f.Size, Mode: f.Mode.String(), Link: f.Link, BytesBefore: f.Size}
	if !mt.IsZero() {
		e.MTime = &mt
	}
	if w.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		e.Status, e.Error = ctxStatus(err), "not read: "+err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			e.Error = "not read: timed out"
		}
		w.addEntry(e)
		return err
	}
	if w.diskFull != nil {
		e.Status, e.Error = StatusSkipped, "not read: archive write failed earlier ("+w.diskFull.Error()+")"
		w.addEntry(e)
		return nil
	}
	err := w.file(ctx, &e, f, r)
	// Size and mtime before (the stat) and after the read: a file rotated
	// under us is marked (and the bundle is partial).
	if fc, ok := r.(engine.FileChange); ok {
		size, mt, rotated := fc.Changed()
		if size >= 0 && size != f.Size {
			e.SizeAfter = size
		}
		if !mt.IsZero() && !mt.Equal(f.ModTime) {
			e.MTimeAfter = &mt
		}
		e.Rotated = rotated
	}
	w.addEntry(e)
	// Tell the session what became of the file, so its collect event says
	// the same as the manifest (skipped, truncated, error), never "ok" by
	// default.
	if rep, ok := r.(engine.FileReport); ok {
		rep.ReportFile(e.Status, e.Error, e.BytesAfter)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return err
}

func ctxStatus(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return StatusTimeout
	}
	return StatusError
}

// readStatus classifies a source error: timeout, interrupted or error.
func readStatus(ctx context.Context, err error) (string, string) {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The collect item's timeout: said as a timeout, not as the
			// context error it surfaces as.
			if errors.Is(err, context.DeadlineExceeded) {
				return StatusTimeout, "timed out while reading"
			}
			return StatusTimeout, "timed out while reading: " + err.Error()
		}
		return StatusError, "interrupted while reading: " + err.Error()
	}
	return StatusError, "read: " + err.Error()
}

// ctxReader stops a copy when the collector's context ends (per-collector
// timeout, Ctrl-C) even if the executor's reader does not watch it.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (w *Writer) file(ctx context.Context, e *Entry, f engine.RemoteFile, src io.Reader) error {
	r := io.Reader(ctxReader{ctx, src})
	n := f.Size - f.Offset // bytes the reader should yield
	if f.Size <= 0 {
		n = -1 // unknown (e.g. /proc files report 0): spool
	}
	truncated := f.Offset > 0
	rs, seekable := src.(io.ReadSeeker)
	if seekable {
		rs = seekCtx{ctxReader{ctx, src}, rs}
	}

	// Our own per-file cap, on top of the runbook's max_bytes.
	var skip int64
	if n > w.opts.MaxFileBytes {
		skip = n - w.opts.MaxFileBytes
	}
	head := make([]byte, 512)
	hn, herr := io.ReadFull(r, head)
	head = head[:hn]
	if herr != nil && herr != io.EOF && herr != io.ErrUnexpectedEOF {
		e.Status, e.Error = readStatus(ctx, herr)
		return nil
	}
	compressed := isCompressed(f.Path, head)
	binary := compressed || bytes.IndexByte(head, 0) >= 0
	if binary && (truncated || skip > 0) {
		e.Status, e.Error = StatusSkipped, fmt.Sprintf("binary file over the per-file cap (%d bytes): binary files are never tailed", min(w.opts.MaxFileBytes, max(f.Size-f.Offset, 0)))
		return nil
	}
	// Put the head back.
	if seekable {
		if _, err := rs.Seek(-int64(hn), io.SeekCurrent); err != nil {
			seekable = false
		}
	}
	if !seekable {
		r = io.MultiReader(bytes.NewReader(head), r)
	}
	if skip > 0 {
		truncated = true
		if seekable {
			if _, err := rs.Seek(skip, io.SeekCurrent); err != nil {
				e.Status, e.Error = readStatus(ctx, err)
				return nil
			}
		} else if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			e.Status, e.Error = readStatus(ctx, err)
			return nil
		}
		n -= skip
	}
	if seekable {
		r = rs
	}
	status := StatusOK
	if truncated {
		status = StatusTruncated
	}
	base := fileMember(e.Host, f.Path)
	if truncated {
		base += ".tailed"
	}

	// gzip is redacted through: decompressed, redacted, recompressed.
	if compressed && w.red != nil && !truncated && bytes.HasPrefix(head, gzipMagic) {
		kept, kn, done := w.gzipFile(ctx, e, f, r, base, status)
		if done {
			return nil
		}
		// Not redactable (binary inside, too big): stored marked as
		// unredacted below, and the manifest says redacted: partial.
		r, n, seekable = kept, kn, false
	}

	// Stored as is: compressed files, binaries when not redacting, and
	// everything when redaction is off. Size known up front, one pass.
	if binary || w.red == nil {
		if binary && w.red != nil && !compressed {
			e.Status, e.Error = StatusSkipped, "binary file: cannot be redacted (use --no-redact to include it)"
			return nil
		}
		if n < 0 {
			if !seekable {
				data, ok, err := spool(r, w.opts.SpoolBytes)
				if err != nil {
					e.Status, e.Error = readStatus(ctx, err)
					return nil
				}
				if !ok {
					e.Status, e.Error = StatusSkipped, fmt.Sprintf("size unknown and over %d bytes: not stored", w.opts.SpoolBytes)
					return nil
				}
				r, n = bytes.NewReader(data), int64(len(data))
			} else if n, _ = countTo(rs, w.opts.MaxFileBytes); n < 0 {
				e.Status, e.Error = StatusSkipped, "size unknown: not stored"
				return nil
			}
		}
		if !w.fits(e, n) {
			return nil
		}
		switch {
		case compressed && w.red != nil && e.Redaction != "":
			// gzipFile said why it could not redact
		case compressed && w.red != nil:
			e.Redaction = "not redacted: compressed (only gzip is redacted)"
		case binary && w.red != nil:
			e.Redaction = "not redacted: binary"
		case w.red == nil:
			e.Redaction = "disabled"
		}
		w.store(ctx, e, base, f.ModTime, n, compressed, status, func(m *memberWriter) error {
			return copyN(m, r, n)
		})
		if e.Member != "" && e.Redaction != "disabled" && e.Redaction != "" {
			w.redGaps = append(w.redGaps, RedactionGap{Member: e.Member, Reason: e.Redaction})
		}
		return nil
	}

	// Text with redaction: count first, then write.
	if !seekable || n < 0 {
		limit := w.opts.SpoolBytes
		if n > limit {
			e.Status, e.Error = StatusSkipped, fmt.Sprintf("the transport's reader cannot seek and the file is over %d bytes: it cannot be redacted without a temporary copy", limit)
			return nil
		}
		data, ok, err := spool(r, limit)
		if err != nil {
			e.Status, e.Error = readStatus(ctx, err)
			return nil
		}
		if !ok {
			e.Status, e.Error = StatusSkipped, fmt.Sprintf("over %d bytes from a reader that cannot seek: it cannot be redacted without a temporary copy", limit)
			return nil
		}
		rs, n = bytes.NewReader(data), int64(len(data))
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		e.Status, e.Error = readStatus(ctx, err)
		return nil
	}
	opt := redact.Options{DropFirstLine: truncated}
	res, err := w.red.Copy(discard{}, io.LimitReader(rs, n), opt)
	switch {
	case errors.Is(err, redact.ErrBinary):
		if truncated {
			e.Status, e.Error = StatusSkipped, "binary data in a file over the per-file cap: binary files are never tailed"
		} else {
			e.Status, e.Error = StatusSkipped, "binary data (NUL byte): cannot be redacted (use --no-redact to include it)"
		}
		return nil
	case errors.Is(err, redact.ErrLineTooLong):
		e.Status, e.Error = StatusSkipped, fmt.Sprintf("a line is longer than %d bytes: cannot be redacted safely", redact.MaxLine)
		return nil
	case err != nil:
		e.Status, e.Error = readStatus(ctx, err)
		return nil
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		e.Status, e.Error = readStatus(ctx, err)
		return nil
	}
	if !w.fits(e, res.Out) {
		return nil
	}
	e.Redaction = "applied"
	e.Redactions = total(res)
	in := res.In
	w.store(ctx, e, base, f.ModTime, res.Out, false, status, func(m *memberWriter) error {
		if !res.Changed() {
			return copyN(m, rs, in)
		}
		_, err := w.red.Copy(m, io.LimitReader(rs, in), opt)
		return err
	})
	if e.Member != "" {
		w.noteRedaction(e.Member, res)
	}
	return nil
}

var gzipMagic = []byte{0x1f, 0x8b}

// maxGunzip bounds what one gzip member may decompress to for redaction
// (a gzip bomb must not fill memory): larger ones are stored as they are
// and marked unredacted.
const maxGunzip = 64 << 20

// gzipFile stores a gzip file redacted: decompressed (bounded), redacted,
// recompressed. When the content cannot be redacted it returns done false,
// the compressed bytes and the reason in e.Redaction; the caller then
// stores them as they are, marked.
func (w *Writer) gzipFile(ctx context.Context, e *Entry, f engine.RemoteFile, r io.Reader, base, status string) (io.Reader, int64, bool) {
	limit := w.opts.MaxFileBytes
	comp, ok, err := spool(r, limit)
	if err != nil {
		e.Status, e.Error = readStatus(ctx, err)
		return nil, 0, true
	}
	if !ok {
		e.Status, e.Error = StatusSkipped, fmt.Sprintf("compressed file over %d bytes", limit)
		return nil, 0, true
	}
	keep := func(why string) (io.Reader, int64, bool) {
		e.Redaction = "not redacted: " + why
		return bytes.NewReader(comp), int64(len(comp)), false
	}
	zr, err := gzip.NewReader(bytes.NewReader(comp))
	if err != nil {
		return keep("gzip header unreadable: " + err.Error())
	}
	plain, ok, err := spool(zr, maxGunzip)
	if err != nil {
		return keep("gzip data unreadable: " + err.Error())
	}
	if !ok {
		return keep(fmt.Sprintf("decompresses to more than %d bytes", maxGunzip))
	}
	var red bytes.Buffer
	res, err := w.red.Copy(&red, bytes.NewReader(plain), redact.Options{})
	if err != nil {
		return keep("content: " + err.Error())
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(red.Bytes()); err != nil {
		return keep(err.Error())
	}
	if err := zw.Close(); err != nil {
		return keep(err.Error())
	}
	if !w.fits(e, int64(out.Len())) {
		return nil, 0, true
	}
	e.Redaction = "applied (decompressed, redacted, recompressed)"
	e.Redactions = total(res)
	data := out.Bytes()
	w.store(ctx, e, base, f.ModTime, int64(len(data)), true, status, func(m *memberWriter) error {
		_, err := m.Write(data)
		return err
	})
	if e.Member != "" {
		w.noteRedaction(e.Member, res)
	}
	return nil, 0, true
}

// seekCtx is a ReadSeeker whose reads watch the context.
type seekCtx struct {
	r io.Reader
	s io.Seeker
}

func (s seekCtx) Read(p []byte) (int, error)            { return s.r.Read(p) }
func (s seekCtx) Seek(off int64, wh int) (int64, error) { return s.s.Seek(off, wh) }

// countTo measures a seekable stream of unknown size up to max bytes and
// rewinds it; -1 when it is longer.
func countTo(rs io.ReadSeeker, max int64) (int64, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1, err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(rs, max+1))
	if err != nil || n > max {
		return -1, err
	}
	_, err = rs.Seek(start, io.SeekStart)
	return n, err
}

// spool reads r into memory up to limit bytes; ok is false when it is longer.
func spool(r io.Reader, limit int64) ([]byte, bool, error) {
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	return b.Bytes(), n <= limit, nil
}

// fits applies the whole-bundle cap.
func (w *Writer) fits(e *Entry, n int64) bool {
	if w.stored+n > w.opts.MaxBytes {
		e.Status, e.Error = StatusSkipped, fmt.Sprintf("bundle size cap reached (%d of %d bytes stored)", w.stored, w.opts.MaxBytes)
		return false
	}
	return true
}

// store writes a member and fills the entry from how it went.
func (w *Writer) store(ctx context.Context, e *Entry, base string, mtime time.Time, size int64, stored bool, status string, fill func(*memberWriter) error) {
	name := w.uniqueName(base)
	padByte := byte('\n')
	if stored {
		padByte = 0
	}
	sha, padded, srcErr, ok := w.writeMember(name, size, mtime, stored, padByte, fill)
	if !ok {
		delete(w.names, name)
		e.Status, e.Error = StatusError, "lost: archive write failed ("+w.diskFull.Error()+")"
		return
	}
	e.Member, e.SHA256, e.BytesAfter, e.Status = name, sha, size, status
	if padded > 0 {
		e.Padded = padded
	}
	if srcErr != nil {
		e.Status, e.Error = readStatus(ctx, srcErr)
		if padded > 0 {
			e.Error += fmt.Sprintf(" (member padded with %d bytes to stay valid)", padded)
		}
	}
}

// Skipped implements engine.Collector.
func (w *Writer) Skipped(h engine.Host, step string, f engine.RemoteFile, status, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, f.Path, f.Link = w.pseudoHost(h), w.pseudo(f.Path), w.pseudo(f.Link)
	e := Entry{Kind: KindFile, Host: h.Name, Step: step, Path: f.Path, RemoteSize: f.Size, Mode: f.Mode.String(), Link: f.Link, Status: status, Error: w.redactString(reason), BytesBefore: f.Size}
	if !f.ModTime.IsZero() {
		mt := f.ModTime
		e.MTime = &mt
	}
	w.addEntry(e)
}

// Command implements engine.Collector. The output has no size up front, so
// it is spooled in memory, keeping its last CommandMaxBytes.
func (w *Writer) Command(h engine.Host, step, cmd string) engine.CommandSink {
	return &cmdSink{w: w, host: w.pseudo(h.Name), step: step, cmd: cmd, limit: w.opts.CommandMaxBytes}
}

type cmdSink struct {
	w     *Writer
	host  string
	step  string
	cmd   string
	limit int64

	mu    sync.Mutex
	buf   []byte
	total int64
}

func (c *cmdSink) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	c.buf = append(c.buf, p...)
	if int64(len(c.buf)) > 2*c.limit {
		keep := c.buf[int64(len(c.buf))-c.limit:]
		c.buf = append(c.buf[:0], keep...)
	}
	return len(p), nil
}

func (c *cmdSink) Close(res engine.CommandResult, runErr error) error {
	c.mu.Lock()
	data := c.buf
	if int64(len(data)) > c.limit {
		data = data[int64(len(data))-c.limit:]
	}
	seen := c.total
	c.buf = nil
	c.mu.Unlock()

	w := c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	e := Entry{Kind: KindCommand, Host: c.host, Step: c.step, Command: w.redactString(c.cmd), BytesBefore: seen, Status: StatusOK}
	if runErr == nil {
		exit := res.Exit
		e.Exit, e.Signal = &exit, res.Signal
	}
	if w.closed {
		return ErrClosed
	}
	truncated := seen > int64(len(data))
	if truncated {
		e.Status = StatusTruncated
	}
	defer func() {
		switch {
		case runErr != nil:
			e.Status, e.Error = StatusError, w.redactString(runErr.Error())
		case res.TimedOut:
			e.Status, e.Error, e.TimedOut = StatusTimeout, engine.TimedOutText(res.Timeout), true
		}
		w.addEntry(e)
	}()
	if w.diskFull != nil {
		e.Status, e.Error = StatusSkipped, "not stored: archive write failed earlier ("+w.diskFull.Error()+")"
		return nil
	}
	base := commandMember(c.host, c.step)
	if truncated {
		base += ".tailed"
	}
	out := data
	var rres *redact.Result
	if w.red != nil {
		var b bytes.Buffer
		var err error
		rres, err = w.red.Copy(&b, bytes.NewReader(data), redact.Options{DropFirstLine: truncated})
		if err != nil {
			e.Status, e.Error = StatusSkipped, "output cannot be redacted: "+err.Error()
			return nil
		}
		out = b.Bytes()
		e.Redaction, e.Redactions = "applied", total(rres)
	} else {
		e.Redaction = "disabled"
	}
	if !w.fits(&e, int64(len(out))) {
		return nil
	}
	w.store(context.Background(), &e, base, w.opts.Now(), int64(len(out)), false, e.Status, func(m *memberWriter) error {
		_, err := m.Write(out)
		return err
	})
	if e.Member != "" {
		w.noteRedaction(e.Member, rres)
	}
	return nil
}
