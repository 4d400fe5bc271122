package journal

import (
	"strconv"

	"github.com/runbook-dev/runbook/internal/engine"
)

// DefaultMaxOutput is the output the journal keeps per step, host and
// stream: the engine's default per-step cap (engine.Options.MaxOutput).
const DefaultMaxOutput = 1 << 20

// outputCap keeps a journal bounded under an output flood (`yes`, a 2 GB
// log cat): per step visit, host and stream, the first half of the cap is
// journaled as it comes, then only the last half is kept in memory and
// written when the step's result arrives (or the journal closes), as one
// output line with Truncated set and Bytes the count of bytes left out.
type outputCap struct {
	max     int64
	streams map[string]*capped
	order   []string
}

type capped struct {
	seen   int64 // bytes of output seen
	head   int64 // bytes journaled as they came
	tail   []byte
	elided int64
	last   engine.Event // the stream's latest event: template for the tail line
}

func outputKey(e engine.Event) string {
	return e.Step + "\x00" + strconv.Itoa(e.Visit) + "\x00" + e.Host + "\x00" + e.Stream
}

// output decides what of an output event to journal now: the event as is,
// its head part, or nothing (held in the tail).
func (c *outputCap) output(e engine.Event) (engine.Event, bool) {
	if c.streams == nil {
		c.streams = map[string]*capped{}
	}
	k := outputKey(e)
	st := c.streams[k]
	if st == nil {
		st = &capped{last: e}
		c.streams[k] = st
		c.order = append(c.order, k)
	}
	data := e.Data
	st.seen += int64(len(data))
	half := c.max / 2
	var now string
	if st.head < half {
		n := min(int64(len(data)), half-st.head)
		now, data = data[:n], data[n:]
		st.head += n
	}
	if data != "" {
		st.tail = append(st.tail, data...)
		if over := int64(len(st.tail)) - half; over > 0 {
			// Trim in bulk (amortised): keep at most twice the tail.
			if int64(len(st.tail)) > 2*half {
				st.elided += over
				st.tail = append(st.tail[:0], st.tail[over:]...)
			}
		}
	}
	st.last = e
	if now == "" {
		return e, false
	}
	e.Data = now
	return e, true
}

// flush returns the held tails of the streams for which done says yes,
// as output lines, and forgets those streams.
func (c *outputCap) flush(done func(engine.Event) bool) []engine.Event {
	var out []engine.Event
	keep := c.order[:0]
	half := c.max / 2
	for _, k := range c.order {
		st := c.streams[k]
		if !done(st.last) {
			keep = append(keep, k)
			continue
		}
		delete(c.streams, k)
		if len(st.tail) == 0 {
			continue
		}
		tail := st.tail
		elided := st.elided
		if over := int64(len(tail)) - half; over > 0 {
			elided += over
			tail = tail[over:]
		}
		e := st.last
		e.Data, e.Bytes, e.Truncated = string(tail), elided, elided > 0
		out = append(out, e)
	}
	c.order = keep
	return out
}
