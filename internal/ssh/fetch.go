package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/runbook-dev/runbook/internal/engine"
)

// sftpOpts: concurrent reads keep many requests in flight per file, which
// is what makes SFTP fast on anything but loopback.
var sftpOpts = []sftp.ClientOption{
	sftp.UseConcurrentReads(true),
	sftp.MaxConcurrentRequestsPerFile(64),
}

// openSFTP starts the sftp subsystem on a session of its own, opened like
// every other session (queued behind our slots, retried while the server
// is at its MaxSessions). The caller closes it when the collection ends:
// a session held for the life of the connection starved every later probe
// on a host with MaxSessions 1.
func (c *Client) openSFTP(ctx context.Context, h engine.Host) (*sftp.Client, func(), error) {
	_, sess, release, err := c.session(ctx, h.Dial())
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { sess.Close(); release() }
	stdin, err := sess.StdinPipe()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start sftp: %w", err)
	}
	sc, err := sftp.NewClientPipe(stdout, stdin, sftpOpts...)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start sftp: %w", err)
	}
	return sc, func() { sc.Close(); cleanup() }, nil
}

// sudoSFTP starts sftp-server as root over an exec session: `sudo -n`
// (or `sudo -S` with a password on stdin) then the server binary.
func (c *Client) sudoSFTP(ctx context.Context, h engine.Host, pass []byte) (*sftp.Client, func(), error) {
	_, sess, release, err := c.session(ctx, h.Dial())
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { sess.Close(); release() }
	stdin, err := sess.StdinPipe()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	errBuf := &headWriter{max: 512}
	sess.Stderr = errBuf
	rc := RemoteCommand{Script: sftpServerScript, Sudo: true, SudoStdin: len(pass) > 0, Direct: true}
	if err := sess.Start(rc.String()); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start sudo sftp-server: %w", err)
	}
	if len(pass) > 0 {
		if _, err := stdin.Write(append(bytes.TrimRight(append([]byte{}, pass...), "\n"), '\n')); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	sc, err := sftp.NewClientPipe(stdout, stdin, sftpOpts...)
	if err != nil {
		// Wait (bounded) for the exit so sudo's stderr is fully copied.
		waited := make(chan struct{})
		go func() { _ = sess.Wait(); close(waited) }()
		t := time.NewTimer(2 * time.Second)
		select {
		case <-waited:
		case <-t.C:
		}
		t.Stop()
		cleanup()
		errBuf.mu.Lock()
		msg := string(errBuf.buf)
		errBuf.mu.Unlock()
		if strings.Contains(msg, string(sudoNeedsPassword)) {
			return nil, nil, &SudoPasswordError{Host: h.Name}
		}
		if msg = strings.TrimSpace(msg); msg != "" {
			return nil, nil, fmt.Errorf("start sudo sftp-server: %w (%q)", err, msg)
		}
		return nil, nil, fmt.Errorf("start sudo sftp-server: %w", err)
	}
	return sc, func() { sc.Close(); cleanup() }, nil
}

// remoteNow is the host's clock, measured once per connection (one exec
// of `date +%s`); `since` windows use it so a skewed clock does not drop
// or add files. Falls back to our clock when the host cannot tell.
func (c *Client) remoteNow(ctx context.Context, h engine.Host) time.Time {
	cn, err := c.get(ctx, h.Dial())
	if err != nil {
		return time.Now()
	}
	cn.mu.Lock()
	if cn.clockSet {
		off := cn.clock
		cn.mu.Unlock()
		return time.Now().Add(off)
	}
	cn.mu.Unlock()
	var out bytes.Buffer
	before := time.Now()
	res, err := c.run(ctx, h, engine.CommandRequest{Script: clockScript, Timeout: 10 * time.Second}, nil, &out, io.Discard)
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	off := time.Duration(0)
	if err == nil && res.Exit == 0 {
		if secs, perr := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64); perr == nil {
			off = time.Unix(secs, 0).Sub(mid.Truncate(time.Second))
		}
	}
	cn.mu.Lock()
	cn.clock, cn.clockSet = off, true
	cn.mu.Unlock()
	return time.Now().Add(off)
}

// Fetch implements engine.Executor: files matching the globs, newer than
// Since on the remote clock, each capped to its last MaxBytes, delivered to
// the collector in name order. Symlinks are recorded and never followed;
// remote names are passed on as data (the collector confines local paths).
func (c *Client) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, col engine.Collector) error {
	release, err := c.fork(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := c.fetch(ctx, h, req, col, nil); err != nil {
		var spe *SudoPasswordError
		if errors.As(err, &spe) && c.cfg.SudoPassword != nil {
			p, perr := c.cfg.SudoPassword(h.Name)
			if perr != nil {
				return &engine.TransportError{Host: h, Err: fmt.Errorf("sudo password: %w", perr)}
			}
			err = c.fetch(ctx, h, req, col, p)
		}
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return &engine.TransportError{Host: h, Err: err}
		}
		return err
	}
	return nil
}

type fetchItem struct {
	rf             engine.RemoteFile
	fi             fs.FileInfo
	f              *sftp.File
	status, reason string // set when skipped
}

func (c *Client) fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, col engine.Collector, pass []byte) error {
	// The remote clock first: it takes a session of its own, which a
	// server with MaxSessions 1 gives only while no SFTP session is open.
	var now time.Time
	if req.Since > 0 {
		now = c.remoteNow(ctx, h)
	}
	var sc *sftp.Client
	var done func()
	var err error
	if req.Sudo {
		sc, done, err = c.sudoSFTP(ctx, h, pass)
	} else {
		sc, done, err = c.openSFTP(ctx, h)
	}
	if err != nil {
		return err
	}
	defer done()
	seen := map[string]bool{}
	var paths []string
	globOf := map[string]string{}
	for _, g := range req.Globs {
		m, err := sc.Glob(g)
		if err != nil {
			return fmt.Errorf("glob %q: %w", g, err)
		}
		if len(m) == 0 {
			status, reason := noMatch(g, sc.Lstat, func(d string) error { _, err := sc.ReadDir(d); return err })
			col.Skipped(h, req.Step, engine.RemoteFile{Path: g}, status, reason)
		}
		for _, p := range m {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
				globOf[p] = g
			}
		}
	}
	sort.Strings(paths)

	// A producer stats and opens up to FetchAhead files ahead of the one
	// being delivered, so per-file round trips overlap with transfers.
	items := make(chan fetchItem, c.cfg.FetchAhead)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(items)
		for _, p := range paths {
			it, ok := c.prepare(sc, p, globOf[p], req, now)
			if !ok {
				continue
			}
			select {
			case items <- it:
			case <-stop:
				if it.f != nil {
					it.f.Close()
				}
				return
			}
		}
	}()
	finish := func() {
		close(stop)
		for it := range items {
			if it.f != nil {
				it.f.Close()
			}
		}
		wg.Wait()
	}
	for it := range items {
		if err := ctx.Err(); err != nil {
			if it.f != nil {
				it.f.Close()
			}
			finish()
			return err
		}
		if it.f == nil {
			col.Skipped(h, req.Step, it.rf, it.status, it.reason)
			continue
		}
		var r io.ReadSeeker
		var tr *tailReader
		if it.rf.Size == 0 {
			// /proc and other synthetic files stat as 0 bytes but have
			// content: read them to EOF (the collector bounds it).
			r = it.f
		} else {
			tr = newTailReader(ctx, it.f, it.rf.Offset, it.rf.Size-it.rf.Offset)
			r = tr
		}
		f, p, before := it.f, it.rf.Path, it.fi
		wr := watched{ReadSeeker: r, changed: func() (int64, time.Time, string) {
			pathNow, _ := sc.Lstat(p)
			fileNow, _ := f.Stat()
			if before.Size() == 0 {
				return -1, time.Time{}, "" // synthetic file: its size says nothing
			}
			// SFTP has no inode numbers, and some servers answer fstat
			// from the path: a rename rotation and copytruncate both show
			// as the path shrinking.
			if pathNow == nil {
				return compareStat(before, nil, nil, false)
			}
			size, mt := pathNow.Size(), pathNow.ModTime()
			if fileNow != nil && fileNow.Size() < size {
				size, mt = fileNow.Size(), fileNow.ModTime()
			}
			if size < before.Size() {
				return size, mt, fmt.Sprintf("truncated or replaced while read: %d bytes %s before, %d bytes %s after",
					before.Size(), before.ModTime().UTC().Format(time.RFC3339), size, mt.UTC().Format(time.RFC3339))
			}
			return size, mt, ""
		}}
		var err error
		if tr != nil {
			err = col.File(ctx, h, req.Step, it.rf, watchedTail{wr, tr})
			tr.release()
		} else {
			err = col.File(ctx, h, req.Step, it.rf, wr)
		}
		it.f.Close()
		if err != nil {
			finish()
			return fmt.Errorf("collect %s: %w", it.rf.Path, err)
		}
	}
	wg.Wait()
	return nil
}

// prepare stats and opens one matched path; ok is false for files the
// request does not want (directories, older than Since).
func (c *Client) prepare(sc *sftp.Client, p, glob string, req engine.FetchRequest, now time.Time) (fetchItem, bool) {
	fi, err := sc.Lstat(p)
	if err != nil {
		return fetchItem{rf: engine.RemoteFile{Path: p}, status: errStatus(err), reason: err.Error()}, true
	}
	rf := engine.RemoteFile{Path: p, Size: fi.Size(), ModTime: fi.ModTime(), Mode: fi.Mode()}
	if l := throughLink(glob, p, sc.Lstat); l != "" {
		target, _ := sc.ReadLink(l)
		rf.Link = target
		return fetchItem{rf: rf, status: "skipped", reason: "inside " + l + ", a symbolic link to " + target + " (not followed)"}, true
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := sc.ReadLink(p)
		if err != nil {
			target = "?"
		}
		rf.Link = target
		return fetchItem{rf: rf, status: "skipped", reason: "symbolic link to " + target + " (not followed)"}, true
	case fi.IsDir():
		return fetchItem{}, false
	case !fi.Mode().IsRegular():
		return fetchItem{rf: rf, status: "skipped", reason: "not a regular file (" + fi.Mode().Type().String() + "): never opened"}, true
	}
	if req.Since > 0 && now.Sub(fi.ModTime()) > req.Since {
		return fetchItem{}, false
	}
	f, err := sc.Open(p)
	if err != nil {
		return fetchItem{rf: rf, status: errStatus(err), reason: err.Error()}, true
	}
	if req.MaxBytes > 0 && rf.Size > req.MaxBytes {
		rf.Offset = rf.Size - req.MaxBytes
	}
	return fetchItem{rf: rf, fi: fi, f: f}, true
}

// watchedTail keeps the tail reader's WriteTo (big concurrent reads) on a
// watched reader.
type watchedTail struct {
	watched
	tr *tailReader
}

func (w watchedTail) WriteTo(dst io.Writer) (int64, error) { return w.tr.WriteTo(dst) }

func errStatus(err error) string {
	if errors.Is(err, os.ErrPermission) {
		return "denied"
	}
	return "error"
}

// chunk is the size of one ReadAt: pkg/sftp splits it into concurrent
// 32 KiB requests, so 2 MiB keeps 64 in flight.
const chunk = 2 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunk); return &b }}

// tailReader reads the window [start, start+size) of f: exactly the size
// stat reported from the tail offset (a file growing meanwhile does not
// overflow the bundle entry). It seeks within the window, so a collector
// can read twice (count, then redact and write) without a local copy, and
// implements WriterTo so io.Copy uses big concurrent reads.
type tailReader struct {
	ctx         context.Context
	f           *sftp.File
	start, size int64
	pos         int64
	buf         *[]byte
}

func newTailReader(ctx context.Context, f *sftp.File, off, n int64) *tailReader {
	return &tailReader{ctx: ctx, f: f, start: off, size: n}
}

func (r *tailReader) release() {
	if r.buf != nil {
		chunkPool.Put(r.buf)
		r.buf = nil
	}
}

func (r *tailReader) Read(p []byte) (int, error) {
	left := r.size - r.pos
	if left <= 0 {
		return 0, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.f.ReadAt(p, r.start+r.pos)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) {
		if n == 0 {
			return 0, fmt.Errorf("%s: file shrank while reading: %w", r.f.Name(), io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

func (r *tailReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("seek: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("seek: negative position")
	}
	r.pos = abs
	return abs, nil
}

func (r *tailReader) WriteTo(w io.Writer) (int64, error) {
	if r.buf == nil {
		r.buf = chunkPool.Get().(*[]byte)
	}
	var total int64
	for r.pos < r.size {
		n, err := r.Read(*r.buf)
		if n > 0 {
			m, werr := w.Write((*r.buf)[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
