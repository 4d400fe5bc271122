package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// VerifyError names the first bad member (in archive order) and why.
type VerifyError struct {
	Member string // archive member, or the archive's own name for its digest
	Reason string
}

func (e *VerifyError) Error() string { return e.Member + ": " + e.Reason }

// ErrNotBundle means the file is not a runbook bundle at all.
var ErrNotBundle = errors.New("not a runbook bundle")

// Verify checks a bundle: the detached digest beside it (PATH.sha256), the
// manifest's own digest, every member's sha256 against the manifest, that
// no member is unlisted or missing, and the transcript's hash chain. It
// returns the manifest, and a *VerifyError naming the first bad member.
func Verify(path string) (*Manifest, error) {
	if err := checkDetached(path); err != nil {
		return nil, err
	}
	return scan(path, true)
}

// ReadManifest reads a bundle's manifest without verifying it (inspect).
func ReadManifest(path string) (*Manifest, error) { return scan(path, false) }

func checkDetached(path string) error {
	base := filepath.Base(path)
	want, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return &VerifyError{Member: base + ".sha256", Reason: "detached digest missing: " + err.Error()}
	}
	fields := strings.Fields(string(want))
	if len(fields) < 1 || len(fields[0]) != 64 {
		return &VerifyError{Member: base + ".sha256", Reason: "malformed detached digest"}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read bundle: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, fields[0]) {
		return &VerifyError{Member: base, Reason: fmt.Sprintf("archive sha256 %s does not match %s.sha256 (%s)", got, base, fields[0])}
	}
	return nil
}

type seenMember struct {
	name string
	sum  string
	size int64
}

// chainChecker follows transcript.jsonl line by line as it streams by.
type chainChecker struct {
	prev    string
	line    int
	partial []byte
	err     string
}

func (c *chainChecker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.err == "" {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			if len(c.partial) > 64<<20 {
				c.err = fmt.Sprintf("line %d: too long", c.line+1)
			}
			break
		}
		line := p[:i]
		if len(c.partial) > 0 {
			line = append(c.partial, line...)
			c.partial = nil
		}
		c.check(line)
		p = p[i+1:]
	}
	return n, nil
}

func (c *chainChecker) check(line []byte) {
	c.line++
	var tl struct {
		Prev string `json:"prev"`
	}
	if err := json.Unmarshal(line, &tl); err != nil {
		c.err = fmt.Sprintf("line %d: not JSON: %v", c.line, err)
		return
	}
	want := c.prev
	if want == "" {
		want = GenesisHash
	}
	if tl.Prev != want {
		c.err = fmt.Sprintf("line %d: hash chain broken (prev %.12s…, previous line hashes to %.12s…)", c.line, tl.Prev, want)
		return
	}
	c.prev = LineHash(line)
}

func (c *chainChecker) finish() {
	if c.err == "" && len(c.partial) > 0 {
		c.err = fmt.Sprintf("line %d: no final newline", c.line+1)
	}
}

func scan(path string, verify bool) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotBundle, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var (
		seen       []seenMember
		manifest   []byte
		mdigest    []byte
		chain      *chainChecker
		names      = map[string]bool{}
		firstIssue *VerifyError
	)
	issue := func(member, reason string) {
		if firstIssue == nil {
			firstIssue = &VerifyError{Member: member, Reason: reason}
		}
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		cur := "archive"
		if len(seen) > 0 {
			cur = seen[len(seen)-1].name
		}
		if err != nil {
			return nil, &VerifyError{Member: cur, Reason: "archive damaged after this member: " + err.Error()}
		}
		name := hdr.Name
		if !safeMemberName(name) {
			return nil, &VerifyError{Member: fmt.Sprintf("%q", name), Reason: "unsafe member name"}
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, &VerifyError{Member: name, Reason: "not a regular file"}
		}
		if names[name] {
			issue(name, "member appears twice")
		}
		names[name] = true
		var h hash.Hash = sha256.New()
		var dst io.Writer = h
		var keep *bytes.Buffer
		switch name {
		case ManifestName, ManifestDigestName:
			if hdr.Size > 256<<20 {
				return nil, &VerifyError{Member: name, Reason: "implausibly large"}
			}
			keep = &bytes.Buffer{}
			dst = io.MultiWriter(h, keep)
		case TranscriptName:
			chain = &chainChecker{}
			dst = io.MultiWriter(h, chain)
		}
		n, err := io.Copy(dst, tr)
		if err != nil {
			return nil, &VerifyError{Member: name, Reason: "cannot read: " + err.Error()}
		}
		seen = append(seen, seenMember{name: name, sum: hex.EncodeToString(h.Sum(nil)), size: n})
		switch name {
		case ManifestName:
			manifest = keep.Bytes()
		case ManifestDigestName:
			mdigest = keep.Bytes()
		}
	}
	if manifest == nil {
		return nil, &VerifyError{Member: ManifestName, Reason: "missing: " + ErrNotBundle.Error()}
	}
	var m Manifest
	if !verify {
		if err := json.Unmarshal(manifest, &m); err != nil {
			return nil, &VerifyError{Member: ManifestName, Reason: "not valid JSON: " + err.Error()}
		}
		return &m, nil
	}
	msum := sha256.Sum256(manifest)
	if string(mdigest) != hex.EncodeToString(msum[:])+"  "+ManifestName+"\n" {
		// which one is bad cannot be told apart; the manifest is the one
		// that matters
		if mdigest == nil {
			return nil, &VerifyError{Member: ManifestDigestName, Reason: "missing"}
		}
		issue(ManifestName, "sha256 does not match "+ManifestDigestName)
		return nil, firstIssue
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, &VerifyError{Member: ManifestName, Reason: "not valid JSON: " + err.Error()}
	}
	listed := map[string]*Entry{}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Member != "" {
			listed[e.Member] = e
		}
	}
	for _, s := range seen {
		if s.name == ManifestName || s.name == ManifestDigestName {
			continue
		}
		e := listed[s.name]
		switch {
		case e == nil:
			issue(s.name, "not listed in the manifest")
		case e.SHA256 != s.sum:
			issue(s.name, fmt.Sprintf("sha256 %s, manifest says %s", s.sum, e.SHA256))
		case e.BytesAfter != s.size:
			issue(s.name, fmt.Sprintf("%d bytes, manifest says %d", s.size, e.BytesAfter))
		case s.name == TranscriptName && chain != nil:
			chain.finish()
			if chain.err != "" {
				issue(s.name, chain.err)
			} else if want := m.TranscriptHead; want != "" && chain.prev != want && !(chain.prev == "" && want == GenesisHash) {
				issue(s.name, "last line does not match the manifest's transcript_head (lines dropped?)")
			}
		}
	}
	for _, e := range m.Entries {
		if e.Member != "" && !names[e.Member] {
			issue(e.Member, "listed in the manifest but missing from the archive")
		}
	}
	if firstIssue != nil {
		return &m, firstIssue
	}
	return &m, nil
}
