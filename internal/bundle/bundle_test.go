package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

var t0 = time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)

func testRunbook() *engine.Runbook {
	return &engine.Runbook{
		ID: "disk-check", Title: "Disk check", SHA256: strings.Repeat("ab", 32), File: "disk.yaml",
		Steps: []*engine.Step{
			{ID: "probe", Ref: "1", Title: "Is the disk full?", Kind: engine.KindRun},
			{ID: "gather", Ref: "2", Title: "Collect logs", Kind: engine.KindCollect},
			{ID: "escalate", Kind: engine.KindEnd},
		},
		Redact: []*engine.RedactRule{{Name: "ticket-token", Pattern: `TKT-[0-9]{6}`}},
	}
}

func newWriter(t *testing.T, mod func(*Options)) *Writer {
	t.Helper()
	o := Options{
		Path: t.TempDir(), Runbook: testRunbook(), ToolVersion: "test",
		Targets: map[string][]engine.Host{"host": {{Role: "host", Name: "root@web-1"}}},
		Secrets: []string{"param-s3cret"},
		Now:     func() time.Time { return t0 },
	}
	if mod != nil {
		mod(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var host = engine.Host{Role: "host", Name: "root@web-1"}

func remote(p string, data []byte) engine.RemoteFile {
	return engine.RemoteFile{Path: p, Size: int64(len(data)), ModTime: t0.Add(-time.Hour), Mode: 0o644}
}

func feedSession(w *Writer) {
	exit := 0
	for _, e := range []engine.Event{
		{Type: engine.EvSessionStart, Runbook: "disk-check", Params: map[string]string{"token": "param-s3cret"}},
		{Type: engine.EvStepEnter, Step: "probe"},
		{Type: engine.EvCommand, Step: "probe", Host: host.Name, Command: "df -P / --password=hunter2-cli"},
		{Type: engine.EvOutput, Step: "probe", Host: host.Name, Stream: "stdout", Data: "/dev/sda1 95% /\nAuthorization: Bearer abcdefgh12345678\n"},
		{Type: engine.EvResult, Step: "probe", Host: host.Name, Exit: &exit, Captures: map[string]string{"used": "95"}},
		{Type: engine.EvDecision, Step: "probe", Next: "gather", Expr: "int(used) >= 90", By: "auto", Explain: "used 95 >= 90 → 2 Collect logs"},
		{Type: engine.EvStepEnter, Step: "gather"},
		{Type: engine.EvNote, Step: "gather", Text: "rotated at 02:00, ticket TKT-123456"},
		{Type: engine.EvStepEnter, Step: "escalate"},
		{Type: engine.EvSessionEnd, Step: "escalate", Outcome: engine.OutcomeEscalated, Message: "Escalate."},
	} {
		e.Time = t0
		w.Event(e)
	}
}

// readArchive returns the members of a bundle, in order.
func readArchive(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f) // the standard library: bundles must not need ours
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	data := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		data[h.Name] = b
	}
	return names, data
}

func noLeftovers(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("directory holds %v, want %v", got, want)
	}
}

func gzBytes(t *testing.T, s string) []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write([]byte(s))
	z.Close()
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	w := newWriter(t, nil)
	ctx := context.Background()
	feedSession(w)
	logText := []byte("line one\nuser=bob password=hunter2 ok\nsecret param param-s3cret here\nlast\n")
	if err := w.File(ctx, host, "gather", remote("/var/log/app.log", logText), bytes.NewReader(logText)); err != nil {
		t.Fatal(err)
	}
	gz := gzBytes(t, "old rotated log\npassword=gz-hunter3 in the old log\n")
	if err := w.File(ctx, host, "gather", remote("/var/log/app.log.1.gz", gz), bytes.NewReader(gz)); err != nil {
		t.Fatal(err)
	}
	// A zip cannot be redacted through: stored, marked, and the manifest
	// says redacted: partial (issue 13: it said true).
	zipData := []byte("PK\x03\x04 password=in-a-zip")
	if err := w.File(ctx, host, "gather", remote("/var/log/old.zip", zipData), bytes.NewReader(zipData)); err != nil {
		t.Fatal(err)
	}
	bin := []byte("ELF\x00\x01\x02 password=inside-binary")
	if err := w.File(ctx, host, "gather", remote("/var/log/core", bin), bytes.NewReader(bin)); err != nil {
		t.Fatal(err)
	}
	w.Skipped(host, "gather", engine.RemoteFile{Path: "/var/log/link", Link: "/etc/shadow"}, "skipped", "symbolic link (not followed)")
	sink := w.Command(host, "gather", "journalctl -u app")
	io.WriteString(sink, "Nov 28 app[1]: started\nNov 28 app[1]: db url postgres://app:pgpass99@db/app\n")
	if err := sink.Close(engine.CommandResult{Exit: 0}, nil); err != nil {
		t.Fatal(err)
	}
	path, err := w.Close(ctx, Final{Outcome: "escalated"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if got := filepath.Base(path); got != "runbook-disk-check-20261128T030000Z.tar.gz" {
		t.Errorf("name = %s", got)
	}
	noLeftovers(t, dir, filepath.Base(path), filepath.Base(path)+".sha256")

	m, err := Verify(path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The binary core file was not collected: the bundle is partial and
	// says what is missing (issue 13: it said complete).
	if m.Status != BundlePartial || len(m.Partial) != 1 || !strings.Contains(m.Partial[0], "/var/log/core: skipped: binary") ||
		m.Outcome != "escalated" || m.Redacted != RedactedPartial || m.Runbook.ID != "disk-check" || m.Runbook.SHA256 != testRunbook().SHA256 {
		t.Errorf("manifest header = %+v", m)
	}
	if len(m.Targets) != 1 || m.Targets[0].Host != "web-1" || m.Targets[0].User != "root" {
		t.Errorf("targets = %+v", m.Targets)
	}
	names, data := readArchive(t, path)
	wantOrder := []string{
		"hosts/root@web-1/files/var/log/app.log",
		"hosts/root@web-1/files/var/log/app.log.1.gz",
		"hosts/root@web-1/files/var/log/old.zip",
		"hosts/root@web-1/commands/gather.txt",
		TranscriptName, ReportName, RedactionsName, ManifestName, ManifestDigestName,
	}
	if strings.Join(names, "\n") != strings.Join(wantOrder, "\n") {
		t.Fatalf("members:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(wantOrder, "\n"))
	}
	if got := string(data[names[0]]); got != "line one\nuser=bob password=[REDACTED:key-value-secret] ok\nsecret param [REDACTED:secret-param] here\nlast\n" {
		t.Errorf("redacted log = %q", got)
	}
	if zr, err := gzip.NewReader(bytes.NewReader(data[names[1]])); err != nil {
		t.Errorf("gz member: %v", err)
	} else if plain, _ := io.ReadAll(zr); string(plain) != "old rotated log\npassword=[REDACTED:key-value-secret] in the old log\n" {
		t.Errorf("gz member holds %q", plain)
	}
	if !bytes.Equal(data[names[2]], zipData) {
		t.Error("zip file not stored byte for byte")
	}
	byPath := map[string]Entry{}
	for _, e := range m.Entries {
		byPath[e.Path+e.Command] = e
	}
	if e := byPath["/var/log/app.log"]; e.Status != StatusOK || e.BytesBefore != int64(len(logText)) || e.Redactions != 2 || e.SHA256 == "" {
		t.Errorf("log entry = %+v", e)
	}
	if e := byPath["/var/log/app.log.1.gz"]; e.Redaction != "applied (decompressed, redacted, recompressed)" || e.Redactions != 1 {
		t.Errorf("gz entry = %+v", e)
	}
	if e := byPath["/var/log/old.zip"]; !strings.HasPrefix(e.Redaction, "not redacted: compressed") {
		t.Errorf("zip entry = %+v", e)
	}
	if e := byPath["/var/log/core"]; e.Status != StatusSkipped || e.Member != "" || !strings.Contains(e.Error, "binary") {
		t.Errorf("binary entry = %+v", e)
	}
	if e := byPath["/var/log/link"]; e.Status != StatusSkipped || e.Link != "/etc/shadow" {
		t.Errorf("link entry = %+v", e)
	}
	if e := byPath["journalctl -u app"]; e.Kind != KindCommand || e.Exit == nil || *e.Exit != 0 || e.Status != StatusOK {
		t.Errorf("command entry = %+v", e)
	}
	// No secret anywhere in the archive, whatever the member.
	for n, b := range data {
		for _, s := range []string{"hunter2", "param-s3cret", "pgpass99", "abcdefgh12345678", "TKT-123456", "inside-binary", "gz-hunter3"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds secret %q", n, s)
			}
		}
	}
	rep := string(data[ReportName])
	for _, s := range []string{"# Disk check", "1 Is the disk full?", "used 95 >= 90 → 2 Collect logs", "/dev/sda1 95% /", "outcome: **escalated**", "## Notes", "rotated at 02:00", "## Not collected or failed", "symbolic link", "not redacted: compressed", "PARTLY REDACTED", "not collected: "} {
		if !strings.Contains(rep, s) {
			t.Errorf("report lacks %q:\n%s", s, rep)
		}
	}
	var rr RedactionReport
	if err := json.Unmarshal(data[RedactionsName], &rr); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range rr.Items {
		if it.Member == names[0] {
			found = len(it.Hits) == 2 && it.Hits[0] == (RedactionHit{Line: 2, Rule: "key-value-secret", Count: 1}) && it.Hits[1] == (RedactionHit{Line: 3, Rule: "secret-param", Count: 1})
		}
	}
	if !found || rr.Totals["ticket-token"] != 1 || len(rr.NotDone) != 1 {
		t.Errorf("redaction report = %s", data[RedactionsName])
	}
}

// rewrite rebuilds a bundle with edit applied to the tar members, and
// refreshes the detached digest so only the inner checks can catch it.
func rewrite(t *testing.T, src, dst string, edit func(name string, b []byte) []byte) {
	t.Helper()
	names, data := readArchive(t, src)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		b := edit(n, append([]byte(nil), data[n]...))
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Size: int64(len(b)), Mode: 0o644})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out.Bytes())
	os.WriteFile(dst+".sha256", []byte(hex.EncodeToString(sum[:])+"  "+filepath.Base(dst)+"\n"), 0o644)
}

func finishedBundle(t *testing.T) string {
	w := newWriter(t, nil)
	feedSession(w)
	ctx := context.Background()
	logText := []byte("a\nb password=x\nc\n")
	w.File(ctx, host, "gather", remote("/var/log/app.log", logText), bytes.NewReader(logText))
	sink := w.Command(host, "gather", "uptime")
	io.WriteString(sink, "up 3 days\n")
	sink.Close(engine.CommandResult{}, nil)
	path, err := w.Close(ctx, Final{Outcome: "escalated"})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFlippedByteInAnyMemberFailsVerify(t *testing.T) {
	path := finishedBundle(t)
	names, data := readArchive(t, path)
	if _, err := Verify(path); err != nil {
		t.Fatalf("untouched bundle: %v", err)
	}
	for _, target := range names {
		if len(data[target]) == 0 {
			continue
		}
		for _, at := range []int{0, len(data[target]) / 2, len(data[target]) - 1} {
			t.Run(fmt.Sprintf("%s@%d", target, at), func(t *testing.T) {
				dst := filepath.Join(t.TempDir(), filepath.Base(path))
				rewrite(t, path, dst, func(n string, b []byte) []byte {
					if n == target {
						b[at] ^= 0x01
					}
					return b
				})
				_, err := Verify(dst)
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("verify = %v, want a VerifyError", err)
				}
				want := target
				if target == ManifestDigestName {
					want = ManifestName // the pair disagrees; the manifest is named
				}
				if ve.Member != want {
					t.Fatalf("verify named %q (%s), want %q", ve.Member, ve.Reason, want)
				}
			})
		}
	}
	// Without refreshing the detached digest, the archive itself is named.
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 0x80
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	os.WriteFile(dst, raw, 0o644)
	b, _ := os.ReadFile(path + ".sha256")
	os.WriteFile(dst+".sha256", b, 0o644)
	_, err := Verify(dst)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Member != filepath.Base(path) {
		t.Fatalf("verify = %v, want the archive named", err)
	}
}

// A transcript edited consistently with the manifest still fails: the chain.
func TestTranscriptChain(t *testing.T) {
	path := finishedBundle(t)
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	var newTranscript []byte
	_, data := readArchive(t, path)
	newTranscript = bytes.Replace(data[TranscriptName], []byte(`"explain":"used 95`), []byte(`"explain":"used 15`), 1)
	if bytes.Equal(newTranscript, data[TranscriptName]) {
		t.Fatal("edit did not apply")
	}
	sum := sha256.Sum256(newTranscript)
	var m map[string]any
	json.Unmarshal(data[ManifestName], &m)
	for _, e := range m["entries"].([]any) {
		em := e.(map[string]any)
		if em["member"] == TranscriptName {
			em["sha256"] = hex.EncodeToString(sum[:])
		}
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	msum := sha256.Sum256(mj)
	rewrite(t, path, dst, func(n string, b []byte) []byte {
		switch n {
		case TranscriptName:
			return newTranscript
		case ManifestName:
			return mj
		case ManifestDigestName:
			return []byte(hex.EncodeToString(msum[:]) + "  manifest.json\n")
		}
		return b
	})
	_, err := Verify(dst)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Member != TranscriptName || !strings.Contains(ve.Reason, "hash chain") {
		t.Fatalf("verify = %v, want a broken chain in %s", err, TranscriptName)
	}
}

func TestTruncation(t *testing.T) {
	w := newWriter(t, func(o *Options) { o.MaxFileBytes = 100 })
	var b strings.Builder
	for i := 0; b.Len() < 1000; i++ {
		fmt.Fprintf(&b, "log line %03d\n", i)
	}
	text := []byte(b.String())
	ctx := context.Background()
	// our own cap
	w.File(ctx, host, "gather", remote("/var/log/big.log", text), bytes.NewReader(text))
	// the executor's cap (runbook max_bytes): it delivers the tail
	rf := remote("/var/log/tail.log", text)
	rf.Offset = int64(len(text)) - 50
	w.File(ctx, host, "gather", rf, io.NewSectionReader(bytes.NewReader(text), rf.Offset, 50))
	// binary files are never tailed
	bin := append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{7}, 500)...)
	w.File(ctx, host, "gather", remote("/var/log/big.gz", bin), bytes.NewReader(bin))
	// command output over its cap keeps the tail
	w.opts.CommandMaxBytes = 40
	sink := w.Command(host, "gather", "dmesg")
	io.WriteString(sink, b.String())
	sink.Close(engine.CommandResult{}, nil)
	path, err := w.Close(ctx, Final{Outcome: "escalated"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	_, data := readArchive(t, path)
	check := func(e Entry, member string, before int64) {
		t.Helper()
		if e.Member != member || e.Status != StatusTruncated || e.BytesBefore != before {
			t.Errorf("entry = %+v, want member %s truncated from %d", e, member, before)
			return
		}
		got := string(data[member])
		if int64(len(got)) != e.BytesAfter || !strings.HasSuffix(b.String(), got) || !strings.HasPrefix(got, "log line") {
			t.Errorf("%s = %q: want whole lines from the end", member, got)
		}
	}
	check(m.Entries[0], "hosts/root@web-1/files/var/log/big.log.tailed", int64(len(text)))
	check(m.Entries[1], "hosts/root@web-1/files/var/log/tail.log.tailed", int64(len(text)))
	if e := m.Entries[2]; e.Status != StatusSkipped || !strings.Contains(e.Error, "never tailed") {
		t.Errorf("binary entry = %+v", e)
	}
	check(m.Entries[3], "hosts/root@web-1/commands/gather.txt.tailed", int64(len(text)))
}

// cancelReader cancels the context after n bytes, like Ctrl-C mid-copy.
type cancelReader struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	if len(p) > 1000 {
		p = p[:1000]
	}
	k, err := c.r.Read(p)
	c.n -= k
	return k, err
}

func TestInterruptedExportVerifiesIncomplete(t *testing.T) {
	w := newWriter(t, nil)
	feedSession(w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	small := []byte("first file\n")
	if err := w.File(ctx, host, "gather", remote("/var/log/a.log", small), bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef\n"), 10000)
	// not seekable, so the first pass reads from the network-like stream
	err := w.File(ctx, host, "gather", remote("/var/log/b.log", big), &cancelReader{r: bytes.NewBuffer(big), n: 5000, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("File = %v, want context.Canceled so the executor stops", err)
	}
	if err := w.File(ctx, host, "gather", remote("/var/log/c.log", small), bytes.NewReader(small)); !errors.Is(err, context.Canceled) {
		t.Fatalf("File after cancel = %v", err)
	}
	path, err := w.Close(ctx, Final{Outcome: "interrupted", Interrupted: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatalf("interrupted bundle does not verify: %v", err)
	}
	if m.Status != "incomplete" || !strings.Contains(strings.Join(m.Incomplete, ";"), "interrupted") {
		t.Errorf("status %s %v", m.Status, m.Incomplete)
	}
	if m.Entries[0].Status != StatusOK || m.Entries[1].Status != StatusError || m.Entries[2].Status != StatusError {
		t.Errorf("entries = %+v", m.Entries)
	}
	noLeftovers(t, filepath.Dir(path), filepath.Base(path), filepath.Base(path)+".sha256")
}

// An interrupted copy of a seekable file after its first pass leaves a
// padded but valid member, marked.
func TestInterruptedMidMember(t *testing.T) {
	w := newWriter(t, func(o *Options) { o.NoRedact = true })
	ctx, cancel := context.WithCancel(context.Background())
	big := bytes.Repeat([]byte("0123456789abcdef\n"), 10000)
	err := w.File(ctx, host, "gather", remote("/var/log/b.log", big), &cancelReader{r: bytes.NewBuffer(big), n: 50000, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("File = %v", err)
	}
	path, err := w.Close(ctx, Final{Interrupted: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filepath.Base(path), "UNREDACTED") {
		t.Errorf("--no-redact bundle named %s", path)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Entries[0]
	if e.Status != StatusError || e.Padded == 0 || e.BytesAfter != int64(len(big)) || !strings.Contains(e.Error, "interrupted") {
		t.Errorf("entry = %+v", e)
	}
}

// fullDisk is a file on a disk with capacity bytes free.
type fullDisk struct {
	*os.File
	capacity int64
	size     int64
	off      int64
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.off+int64(len(p)) > d.capacity {
		k := d.capacity - d.off
		if k > 0 {
			n, _ := d.File.Write(p[:k])
			d.off += int64(n)
			d.size = max(d.size, d.off)
		}
		return int(max(k, 0)), &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
	}
	n, err := d.File.Write(p)
	d.off += int64(n)
	d.size = max(d.size, d.off)
	return n, err
}

func (d *fullDisk) Truncate(n int64) error {
	d.size = n
	return d.File.Truncate(n)
}

func (d *fullDisk) Seek(off int64, wh int) (int64, error) {
	o, err := d.File.Seek(off, wh)
	d.off = o
	return o, err
}

func diskOf(capacity int64) func(string) (fileSink, error) {
	return func(name string) (fileSink, error) {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		return &fullDisk{File: f, capacity: capacity}, nil
	}
}

func randomish(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = 'a' + byte(x>>24)%26
		if i%80 == 79 {
			b[i] = '\n'
		}
	}
	return b
}

func TestFullDiskStillFinalises(t *testing.T) {
	w := newWriter(t, func(o *Options) { o.create = diskOf(3 << 20) })
	feedSession(w)
	ctx := context.Background()
	small := randomish(200 << 10)
	if err := w.File(ctx, host, "gather", remote("/var/log/small.log", small), bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	big := randomish(8 << 20) // does not compress below the free space
	if err := w.File(ctx, host, "gather", remote("/var/log/big.log", big), bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	if err := w.File(ctx, host, "gather", remote("/var/log/after.log", small), bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	path, err := w.Close(ctx, Final{Outcome: "escalated"})
	if err != nil {
		t.Fatalf("close on a full disk: %v", err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if m.Status != "incomplete" || !strings.Contains(strings.Join(m.Incomplete, ";"), "no space left") {
		t.Errorf("status %s %v", m.Status, m.Incomplete)
	}
	st := []string{m.Entries[0].Status, m.Entries[1].Status, m.Entries[2].Status}
	if st[0] != StatusOK || st[1] != StatusError || st[2] != StatusSkipped {
		t.Errorf("statuses = %v: %+v", st, m.Entries)
	}
	noLeftovers(t, filepath.Dir(path), filepath.Base(path), filepath.Base(path)+".sha256")
}

func TestDiskTooFullForAnythingLeavesNothing(t *testing.T) {
	w := newWriter(t, func(o *Options) { o.create = diskOf(100) })
	feedSession(w)
	dir := filepath.Dir(w.Name())
	_, err := w.Close(context.Background(), Final{})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("close = %v, want ENOSPC", err)
	}
	noLeftovers(t, dir)
}

func TestHostileRemoteNames(t *testing.T) {
	w := newWriter(t, nil)
	ctx := context.Background()
	long := strings.Repeat("x", 5000)
	paths := []string{"../x", "/../../etc/passwd", "/var/log/a\nb.log", "/var/log/evil\u202Egol.txt", "/" + long, "/var/" + strings.Repeat("d/", 600) + "f", ".", "..", "/var/log/%2E%2E", "/var/log/a.tailed", "\x1b[2J"}
	for _, p := range paths {
		data := []byte("content of " + p + "\n")
		if err := w.File(ctx, engine.Host{Name: "../../evil host"}, "gather", remote(p, data), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	path, err := w.Close(ctx, Final{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	seen := map[string]bool{}
	for i, e := range m.Entries[:len(paths)] {
		if e.Path != paths[i] || e.Status != StatusOK {
			t.Errorf("entry %d = %+v", i, e)
		}
		if seen[e.Member] {
			t.Errorf("two files stored as %s", e.Member)
		}
		seen[e.Member] = true
		if !strings.HasPrefix(e.Member, "hosts/..%2F..%2Fevil%20host/files/") || !safeMemberName(e.Member) || len(e.Member) > maxMember {
			t.Errorf("member %q escapes or is unsafe", e.Member)
		}
		full := filepath.Join(root, filepath.FromSlash(e.Member))
		if rel, err := filepath.Rel(filepath.Join(root, "hosts"), full); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Errorf("member %q extracts outside: %s", e.Member, full)
		}
		for _, seg := range strings.Split(e.Member, "/") {
			if len(seg) > 255 {
				t.Errorf("segment of %d bytes in %q", len(seg), e.Member)
			}
		}
		for _, bad := range []string{"\n", "\u202E", "\x1b"} {
			if strings.Contains(e.Member, bad) {
				t.Errorf("member %q holds %q", e.Member, bad)
			}
		}
	}
}

func TestNonSeekableReaders(t *testing.T) {
	w := newWriter(t, func(o *Options) { o.SpoolBytes = 1000 })
	ctx := context.Background()
	small := []byte("token=abc123def\n")
	w.File(ctx, host, "gather", remote("/s.log", small), struct{ io.Reader }{bytes.NewReader(small)})
	big := bytes.Repeat([]byte("x\n"), 1000)
	w.File(ctx, host, "gather", remote("/b.log", big), struct{ io.Reader }{bytes.NewReader(big)})
	long := append(bytes.Repeat([]byte("y"), 2<<20), '\n')
	w.File(ctx, host, "gather", remote("/long.log", long), bytes.NewReader(long))
	path, err := w.Close(ctx, Final{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	_, data := readArchive(t, path)
	if e := m.Entries[0]; e.Status != StatusOK || string(data[e.Member]) != "token=[REDACTED:key-value-secret]\n" {
		t.Errorf("small: %+v %q", e, data[e.Member])
	}
	if e := m.Entries[1]; e.Status != StatusSkipped || !strings.Contains(e.Error, "cannot seek") {
		t.Errorf("big: %+v", e)
	}
	if e := m.Entries[2]; e.Status != StatusSkipped || !strings.Contains(e.Error, "cannot be redacted safely") {
		t.Errorf("long line: %+v", e)
	}
}

func TestBundleCap(t *testing.T) {
	w := newWriter(t, func(o *Options) { o.MaxBytes = 100 })
	ctx := context.Background()
	a := bytes.Repeat([]byte("a\n"), 40)
	w.File(ctx, host, "gather", remote("/a", a), bytes.NewReader(a))
	w.File(ctx, host, "gather", remote("/b", a), bytes.NewReader(a))
	path, err := w.Close(ctx, Final{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Entries[0].Status != StatusOK || m.Entries[1].Status != StatusSkipped || !strings.Contains(m.Entries[1].Error, "cap") {
		t.Errorf("entries = %+v", m.Entries)
	}
}

func TestUnsafeMemberRejected(t *testing.T) {
	path := finishedBundle(t)
	dst := filepath.Join(t.TempDir(), "evil.tar.gz")
	names, data := readArchive(t, path)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "../../etc/cron.d/x", Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Size: int64(len(data[n])), Mode: 0o644})
		tw.Write(data[n])
	}
	tw.Close()
	zw.Close()
	os.WriteFile(dst, out.Bytes(), 0o644)
	sum := sha256.Sum256(out.Bytes())
	os.WriteFile(dst+".sha256", []byte(hex.EncodeToString(sum[:])+"\n"), 0o644)
	_, err := Verify(dst)
	var ve *VerifyError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "unsafe") {
		t.Fatalf("verify = %v", err)
	}
}

// Symlinks planted where the bundle's temporary files go never make it
// write through them (issue 13: the detached `.sha256.partial` write
// followed a pre-planted symlink and overwrote the victim).
func TestPlantedSymlinksNotFollowed(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "runbook-disk-check-20261128T030000Z.tar.gz")
	for _, planted := range []string{name + ".sha256.partial", name + ".sha256"} {
		if err := os.Symlink(victim, planted); err != nil {
			t.Fatal(err)
		}
	}
	w := newWriter(t, func(o *Options) { o.Path = dir })
	feedSession(w)
	path, err := w.Close(context.Background(), Final{Outcome: "escalated"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Fatalf("victim overwritten: %q", b)
	}
	if fi, err := os.Lstat(path + ".sha256"); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf(".sha256 is not a regular file: %v %v", fi, err)
	}
	if _, err := Verify(path); err != nil {
		t.Fatal(err)
	}
	// A symlink at the archive's own temporary name is never written
	// through: New takes the next free name (-2) instead.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, name+".partial"); err != nil {
		t.Fatal(err)
	}
	w2, err := New(Options{Path: dir, Runbook: testRunbook(), ToolVersion: "test", Now: func() time.Time { return t0 }})
	if err == nil {
		p2, err := w2.Close(context.Background(), Final{Outcome: "escalated"})
		if err != nil || p2 == name || !strings.HasSuffix(p2, "-2.tar.gz") {
			t.Fatalf("with a symlink at <name>.partial: bundle %q, %v; want the next name", p2, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Fatalf("victim overwritten: %q", b)
	}
}

// Two sessions ending in the same second into one directory both get a
// bundle (the second named -2); a file name the operator gave is never
// replaced.
func TestSameSecondBundlesGetDistinctNames(t *testing.T) {
	rb, err := engine.Load("x.yaml", []byte("runbook: 1\nid: same-second\ntitle: x\nsteps:\n  - {id: done, end: resolved}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	now := func() time.Time { return t0 }
	var paths []string
	for range 3 {
		w, err := New(Options{Path: dir, Runbook: rb, ToolVersion: "test", Now: now})
		if err != nil {
			t.Fatalf("bundle %d: %v", len(paths)+1, err)
		}
		p, err := w.Close(context.Background(), Final{Outcome: "resolved"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(p); err != nil {
			t.Fatalf("verify %s: %v", p, err)
		}
		paths = append(paths, p)
	}
	if paths[0] == paths[1] || paths[1] == paths[2] || !strings.HasSuffix(paths[1], "-2.tar.gz") || !strings.HasSuffix(paths[2], "-3.tar.gz") {
		t.Fatalf("bundle names %v, want distinct, the later ones -2 and -3", paths)
	}
	if _, err := New(Options{Path: paths[0], Runbook: rb, ToolVersion: "test", Now: now}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("an explicit existing file name: %v, want a refusal", err)
	}
}
