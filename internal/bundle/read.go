package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/pgzip"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Session is what a bundle holds about the session it records: its events
// (from the transcript, redacted as the bundle is) and what was collected,
// by host: files by remote path, command outputs by the collect command.
type Session struct {
	Events   []engine.Event
	Files    map[string]map[string]string
	Commands map[string]map[string]string
}

// maxRead bounds one member read into memory for ReadSession.
const maxRead = 64 << 20

// ReadSession reads a bundle (verified first: a tampered bundle is refused)
// for `runbook scenario record`.
func ReadSession(path string) (*Session, error) {
	if _, err := Verify(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := pgzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotBundle, err)
	}
	defer zr.Close()
	members := map[string][]byte{}
	var transcript []byte
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read bundle: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size > maxRead {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxRead))
		if err != nil {
			return nil, fmt.Errorf("read bundle: %s: %w", hdr.Name, err)
		}
		if hdr.Name == "transcript.jsonl" {
			transcript = b
		} else {
			members[hdr.Name] = b
		}
	}
	if transcript == nil {
		return nil, fmt.Errorf("%s: no transcript.jsonl", path)
	}
	s := &Session{Files: map[string]map[string]string{}, Commands: map[string]map[string]string{}}
	for _, ln := range bytes.Split(transcript, []byte("\n")) {
		if len(bytes.TrimSpace(ln)) == 0 {
			continue
		}
		var tl TranscriptLine
		if err := json.Unmarshal(ln, &tl); err != nil {
			return nil, fmt.Errorf("%s: transcript: %w", path, err)
		}
		e := tl.Event
		s.Events = append(s.Events, e)
		if e.Type != engine.EvCollect || e.Host == "" {
			continue
		}
		switch {
		case e.Path != "" && (e.Status == "ok" || e.Status == ""):
			if b, ok := members[fileMember(e.Host, e.Path)]; ok {
				if s.Files[e.Host] == nil {
					s.Files[e.Host] = map[string]string{}
				}
				s.Files[e.Host][e.Path] = string(b)
			}
		case e.Command != "":
			if b, ok := members[commandMember(e.Host, e.Step)]; ok {
				if s.Commands[e.Host] == nil {
					s.Commands[e.Host] = map[string]string{}
				}
				s.Commands[e.Host][e.Command] = string(b)
			}
		}
	}
	return s, nil
}
