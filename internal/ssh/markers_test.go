package ssh

import (
	"bytes"
	"strings"
	"testing"
)

// TestMarkerFilter: the wrapper's reports are removed from stderr however
// the stream is split into writes, and everything else passes unchanged.
func TestMarkerFilter(t *testing.T) {
	const n = "runbook-0011223344556677"
	for _, c := range []struct {
		in, out         string
		started, stdinE bool
	}{
		{n + ":start\nhello\n", "hello\n", true, false},
		{"rc noise\n" + n + ":start\nerr\n" + n + ":stdin-eof\n", "rc noise\nerr\n", true, true},
		{"no markers at all\\", "no markers at all\\", false, false},
		{n + ":other\n", n + ":other\n", false, false},
		{"runbook-00112233 almost\n", "runbook-00112233 almost\n", false, false},
		{n + ":start", n + ":start", false, false}, // no newline: not a report
		{"x" + n + ":start\ny", "xy", true, false},
		{"", "", false, false},
	} {
		for size := 1; size <= len(c.in)+1; size++ {
			var got bytes.Buffer
			f := newMarkerFilter(&got, n)
			for i := 0; i < len(c.in); i += size {
				f.Write([]byte(c.in[i:min(i+size, len(c.in))]))
			}
			f.flush()
			started, eof, _ := f.state()
			if got.String() != c.out || started != c.started || eof != c.stdinE {
				t.Fatalf("%q in writes of %d: got %q started=%v eof=%v, want %q %v %v", c.in, size, got.String(), started, eof, c.out, c.started, c.stdinE)
			}
		}
	}
	// Long output streams through; at most a nonce's length is held back.
	var got bytes.Buffer
	f := newMarkerFilter(&got, n)
	f.Write([]byte(strings.Repeat("a", 1000)))
	if got.Len() < 1000-len(n) {
		t.Errorf("held back %d bytes", 1000-got.Len())
	}
}
