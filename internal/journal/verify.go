package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrTampered means a journal's runbook source does not match the sha256
// its header recorded when the session started: the journal was edited
// and resuming it would run something other than what was started.
var ErrTampered = errors.New("journal was modified: its runbook source does not match the recorded sha256")

// VerifySource checks the journaled runbook source against the header's
// sha256 and, when they differ, says what changed: against the runbook file
// the session was started from, when that file still has the recorded
// hash, the first line that differs.
func (h Header) VerifySource() error {
	if h.SHA256 == "" {
		return fmt.Errorf("%w: the header has no sha256 (refusing to resume an unverifiable journal)", ErrTampered)
	}
	got := sum(h.Source)
	if got == h.SHA256 {
		for _, inc := range h.Includes {
			if g := sum(inc.Source); g != inc.SHA256 {
				return fmt.Errorf("%w: the called file %s hashes to %s, the header says %s; start a new session with `runbook run` instead", ErrTampered, inc.Path, short(g), short(inc.SHA256))
			}
		}
		return nil
	}
	msg := fmt.Sprintf("the header says sha256 %s, the journaled source hashes to %s", short(h.SHA256), short(got))
	if h.File != "" {
		if orig, err := os.ReadFile(h.File); err == nil && sum(string(orig)) == h.SHA256 {
			if line, was, now := firstDiff(string(orig), h.Source); line > 0 {
				msg += fmt.Sprintf("; against %s (which still has the recorded hash), line %d changed from %q to %q", h.File, line, was, now)
			}
		}
	}
	return fmt.Errorf("%w: %s; start a new session with `runbook run` instead", ErrTampered, msg)
}

func sum(s string) string {
	b := sha256.Sum256([]byte(s))
	return hex.EncodeToString(b[:])
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// firstDiff returns the first line (1-based) where a and b differ and the
// two versions of it; 0 when they are equal line by line.
func firstDiff(a, b string) (int, string, string) {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y || i >= len(al) || i >= len(bl) {
			return i + 1, x, y
		}
	}
	return 0, "", ""
}
