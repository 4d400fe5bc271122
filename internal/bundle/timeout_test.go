package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// stallReader gives its first chunk, then blocks until the context ends,
// like an SFTP read that hangs past the collect item's timeout.
type stallReader struct {
	ctx  context.Context
	data []byte
	sent bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		return copy(p, s.data), nil
	}
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

// A file whose collect item timed out, before or during the read, is a
// timeout in its entry, said in words ("timed out"), never as the Go
// context error.
func TestFileTimeoutIsSaidAsTimeout(t *testing.T) {
	w := newWriter(t, nil)
	past, cancel := context.WithDeadline(context.Background(), t0)
	defer cancel()
	data := bytes.Repeat([]byte("Dec  2 00:41:07 web-1 kernel: [123456.789012] nvme0n1: I/O 112 QID 3 timeout, aborting\n"), 100)
	_ = w.File(past, host, "gather", remote("/var/log/kern.log", data), bytes.NewReader(data))
	soon, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_ = w.File(soon, host, "gather", remote("/var/log/syslog", data), &stallReader{ctx: soon, data: data[:100]})
	path, err := w.Close(context.Background(), Final{Outcome: "escalated"})
	if err != nil {
		t.Fatal(err)
	}
	_, members := readArchive(t, path)
	var m Manifest
	if err := json.Unmarshal(members[ManifestName], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) < 2 || m.Entries[0].Kind != KindFile || m.Entries[1].Kind != KindFile {
		t.Fatalf("entries: %+v", m.Entries)
	}
	for i, want := range []string{"not read: timed out", "timed out while reading"} {
		e := m.Entries[i]
		if e.Status != StatusTimeout || e.Error != want {
			t.Errorf("%s: status %q, error %q; want timeout, %q", e.Path, e.Status, e.Error, want)
		}
	}
	if bytes.Contains(members[ReportName], []byte("deadline exceeded")) {
		t.Errorf("report:\n%s", members[ReportName])
	}
}
