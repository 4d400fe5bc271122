package engine

import (
	"strings"
	"sync"
)

// streamMask masks secret values in a stream of output chunks: a secret
// printed across two chunks ("key=TOPSECRE" + "TTOKEN99") is masked as if
// it came in one. It holds back the longest tail of what it has seen that
// could still begin a secret (at most the longest secret's length minus
// one byte) until more output or Flush, so the stream is masked, not the
// chunk.
type streamMask struct {
	mu      sync.Mutex
	mask    func(string) string
	secrets func() []string
	emit    func(string)
	pending string
}

// Write masks and forwards p, holding back a possible secret prefix.
func (m *streamMask) Write(p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	text := m.mask(m.pending + string(p))
	hold := heldTail(text, m.secrets())
	m.pending = text[len(text)-hold:]
	if out := text[:len(text)-hold]; out != "" {
		m.emit(out)
	}
}

// Flush forwards what is held back: the stream ended, so it cannot be the
// start of a secret any more.
func (m *streamMask) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending != "" {
		m.emit(m.mask(m.pending))
		m.pending = ""
	}
}

// heldTail is the length of the longest suffix of s that is a proper,
// non-empty prefix of one of secrets.
func heldTail(s string, secrets []string) int {
	best := 0
	for _, sec := range secrets {
		for n := min(len(sec)-1, len(s)); n > best; n-- {
			if strings.HasSuffix(s, sec[:n]) {
				best = n
				break
			}
		}
	}
	return best
}
