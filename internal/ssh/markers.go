package ssh

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync"
)

// newNonce tags one command's wrapper reports (RemoteCommand.Nonce).
func newNonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "runbook-" + hex.EncodeToString(b[:])
}

// markerFilter passes a command's stderr through, minus the wrapper's
// report lines ("NONCE:start\n", "NONCE:stdin-eof\n"), and remembers which
// it saw. It holds back at most a marker's length of bytes at a time, so
// output still streams; flush writes what is held when the command ends.
type markerFilter struct {
	mu       sync.Mutex
	w        io.Writer
	nonce    []byte
	buf      []byte
	head     []byte // the first bytes that were not markers, for error messages
	started  bool
	stdinEOF bool
}

func newMarkerFilter(w io.Writer, nonce string) *markerFilter {
	return &markerFilter{w: w, nonce: []byte(nonce)}
}

// maxMarkerLine bounds how long a line that starts with the nonce may be
// before it is treated as output.
const maxMarkerLine = 128

func (f *markerFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf, p...)
	for {
		i := bytes.Index(f.buf, f.nonce)
		if i < 0 {
			keep := min(len(f.buf), len(f.nonce)-1)
			if err := f.out(f.buf[:len(f.buf)-keep]); err != nil {
				return len(p), err
			}
			f.buf = append(f.buf[:0], f.buf[len(f.buf)-keep:]...)
			return len(p), nil
		}
		if err := f.out(f.buf[:i]); err != nil {
			return len(p), err
		}
		f.buf = append(f.buf[:0], f.buf[i:]...)
		nl := bytes.IndexByte(f.buf, '\n')
		if nl < 0 {
			if len(f.buf) <= maxMarkerLine {
				return len(p), nil // wait for the rest of the line
			}
			nl = len(f.buf) - 1
		}
		switch string(f.buf[len(f.nonce):nl]) {
		case ":" + markStart:
			f.started = true
		case ":" + markStdinEOF:
			f.stdinEOF = true
		default:
			// Not ours after all: pass the nonce's bytes on.
			if err := f.out(f.buf[:len(f.nonce)]); err != nil {
				return len(p), err
			}
			f.buf = append(f.buf[:0], f.buf[len(f.nonce):]...)
			continue
		}
		f.buf = append(f.buf[:0], f.buf[nl+1:]...)
	}
}

func (f *markerFilter) out(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if n := 512 - len(f.head); n > 0 {
		f.head = append(f.head, b[:min(n, len(b))]...)
	}
	_, err := f.w.Write(b)
	return err
}

// flush writes what is held back; call it when the command has ended.
func (f *markerFilter) flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.out(f.buf)
	f.buf = nil
	return err
}

// state reports what the wrapper said and the first bytes of other stderr.
func (f *markerFilter) state() (started, stdinEOF bool, head string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started, f.stdinEOF, string(f.head)
}
