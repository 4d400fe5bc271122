package bundle

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestPseudonymisedBundle: with Pseudonymise, no member name and no
// member (collected files, a rotated .gz, command output, transcript,
// manifest, report, redactions.json, manifest.sha256) holds a real address
// or learned host name; one value has one stand-in in file contents, file
// names, host directories, targets, events and the report; the map is
// beside the archive (0600), never in it, and names every stand-in used.
func TestPseudonymisedBundle(t *testing.T) {
	web := engine.Host{Role: "web", Name: "deploy@web-1.prod.example.com:22"}
	db := engine.Host{Role: "db", Name: "root@10.0.3.44:2222"}
	v6 := engine.Host{Role: "edge", Name: "ssh://admin@[2a05:d014:e2f:5c00::44]:22"}
	dir := t.TempDir()
	w := newWriter(t, func(o *Options) {
		o.Path = dir
		o.Pseudonymise = true
		o.Targets = map[string][]engine.Host{"web": {web}, "db": {db}, "edge": {v6}}
		o.Runbook.Params = []*engine.Param{{Name: "upstream", Type: engine.ParamHost}, {Name: "standby", Type: engine.ParamHost}}
	})
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "redact", "testdata", "pseudo", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	syslog, ipAddr, access := read("syslog"), read("ip-addr"), read("access.log")
	exit := 0
	for _, e := range []engine.Event{
		{Type: engine.EvSessionStart, Runbook: "disk-check", Targets: map[string][]string{"web": {web.Name}, "db": {db.Name}, "edge": {v6.Name}},
			Params: map[string]string{"upstream": "db-3.prod.example.com", "standby": "pg-standby.dc2.corp"}},
		{Type: engine.EvStepEnter, Step: "probe"},
		{Type: engine.EvCommand, Step: "probe", Host: web.Name, Command: "curl -sS http://10.0.3.44:8080/health --resolve web-1.prod.example.com:443:10.0.1.2"},
		{Type: engine.EvOutput, Step: "probe", Host: web.Name, Stream: "stdout", Data: string(syslog)},
		{Type: engine.EvResult, Step: "probe", Host: web.Name, Exit: &exit, Captures: map[string]string{"peer": "10.0.1.2"}},
		{Type: engine.EvDecision, Step: "probe", Next: "gather", Expr: "exit == 0", By: "auto", Explain: "exit 0 on deploy@web-1.prod.example.com:22 → gather",
			Checks: []engine.DecisionCheck{{Expr: `peer == "10.0.1.2"`, Held: true, Values: []engine.ExprValue{{Name: "peer", Value: "10.0.1.2", Capture: true}}}}},
		{Type: engine.EvStepEnter, Step: "gather"},
		{Type: engine.EvNote, Step: "gather", Text: "ip-10-0-1-2 is the node behind web-1; pg-standby.dc2.corp is lagging"},
		{Type: engine.EvStepEnter, Step: "escalate"},
		{Type: engine.EvSessionEnd, Step: "escalate", Outcome: engine.OutcomeEscalated, Message: "Escalate: 10.0.3.44 refuses connections."},
	} {
		e.Time = t0
		w.Event(e)
	}
	ctx := context.Background()
	for _, f := range []struct {
		h    engine.Host
		path string
		data []byte
	}{
		{web, "/var/log/nginx/web-1.prod.example.com.access.log", access},
		{web, "/var/log/syslog", syslog},
		{web, "/var/log/syslog.2.gz", gzBytes(t, string(syslog))},
		{db, "/var/log/ip-10-0-3-44/postgresql.log", []byte("2026-12-02 00:41:13.204 UTC [4711] LOG:  connection received: host=10.0.1.2 port=52514\n")},
	} {
		if err := w.File(ctx, f.h, "gather", remote(f.path, f.data), bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	w.Skipped(db, "gather", engine.RemoteFile{Path: "/var/lib/ip-10-0-3-44/secret.log"}, "denied", "open /var/lib/ip-10-0-3-44/secret.log: permission denied")
	sink := w.Command(v6, "gather", "ip addr show")
	sink.Write(ipAddr)
	if err := sink.Close(engine.CommandResult{Exit: 0}, nil); err != nil {
		t.Fatal(err)
	}
	w.SetHost(db.Name, HostInfo{HostKey: "SHA256:3nq2cFq0fQyG3QkJbGmO7n9qkqXh9hK1uT3l1mZ0l4E", KeyType: "ssh-ed25519", Trust: "known_hosts", Source: "/home/oncall/.ssh/known_hosts:3"})
	path, err := w.Close(ctx, Final{Outcome: "escalated", Message: "Escalate: 10.0.3.44 refuses connections.",
		Divergence: []engine.SectionPaths{{Step: "probe", Join: "gather", Visit: 1, Line: "1 host → gather · 1 host → escalate: root@10.0.3.44:2222",
			Paths:  []engine.HostPath{{Host: web.Name, Steps: []engine.PathStep{{Step: "probe", Answer: "web-1.prod.example.com"}}}, {Host: db.Name, Steps: []engine.PathStep{{Step: "probe", Error: "connect 10.0.3.44:2222: refused"}}}},
			Groups: []engine.PathGroup{{Hosts: []string{web.Name}, Label: "gather"}, {Hosts: []string{db.Name}, Label: "escalate"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(path); err != nil {
		t.Fatalf("verify: %v", err)
	}
	names, data := readArchive(t, path)

	// Nothing real anywhere in the archive, names included.
	everything := strings.Join(names, "\n")
	for name, b := range data {
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		everything += "\n" + name + ":\n" + string(b)
	}
	low := strings.ToLower(strings.NewReplacer("web-10", "", "web-1-old", "").Replace(everything))
	for _, real := range []string{"10.0.1.2", "10-0-1-2", "10.0.3.44", "10-0-3-44", "10.0.1.17", "203.0.113.77", "2a05:d014", "fe80::42",
		"web-1", "db-3", "example.com", "pg-standby", "dc2.corp"} {
		if strings.Contains(low, real) {
			i := strings.Index(low, real)
			t.Errorf("%q is in the bundle: …%s…", real, everything[max(0, i-200):min(len(everything), i+100)])
		}
	}

	// The map: beside the archive, private, not inside.
	mp := w.PseudonymMap()
	if filepath.Dir(mp) != dir || mp != strings.TrimSuffix(path, ".tar.gz")+".pseudonyms-PRIVATE.json" {
		t.Fatalf("map at %q (bundle %s)", mp, path)
	}
	st, err := os.Stat(mp)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("map: %v, mode %v", err, st.Mode())
	}
	for _, n := range names {
		if strings.Contains(n, "pseudonym") {
			t.Errorf("the map is in the bundle: %s", n)
		}
	}
	raw, _ := os.ReadFile(mp)
	var doc struct {
		Bundle string `json:"bundle"`
		Pairs  []struct{ Kind, Real, Pseudonym string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Bundle != filepath.Base(path) {
		t.Fatalf("map: %v %s", err, raw)
	}
	of := map[string]string{}
	for _, p := range doc.Pairs {
		of[p.Real] = p.Pseudonym
	}
	webP, dbP, v6P, nodeP := of["web-1.prod.example.com"], of["10.0.3.44"], of["2a05:d014:e2f:5c00::44"], of["10.0.1.2"]
	if webP == "" || dbP == "" || v6P == "" || nodeP == "" {
		t.Fatalf("map lacks a target or the node: %s", raw)
	}

	// One stand-in per value, on every surface.
	tr, man, rep := string(data[TranscriptName]), string(data[ManifestName]), string(data[ReportName])
	for _, want := range []struct{ where, text string }{
		{"member names", "hosts/deploy@" + webP + "%3A22/files/var/log/nginx/" + webP + ".access.log"},
		{"member names", "hosts/root@" + dbP + "%3A2222/files/var/log/ip-" + strings.ReplaceAll(dbP, ".", "-") + "/postgresql.log"},
		{"member names", "hosts/" + escapeSegment("ssh://admin@["+v6P+"]:22") + "/commands/gather.txt"},
		{"collected file", "connection received: host=" + nodeP + " port=52514"},
		{"access log", nodeP + " - - [02/Dec/2026:00:41:07"},
		{"transcript target", `"web":["deploy@` + webP + `:22"]`},
		{"transcript host", `"host":"deploy@` + webP + `:22"`},
		{"transcript command", "curl -sS http://" + dbP + ":8080/health --resolve " + webP + ":443:" + nodeP},
		{"transcript capture", `"peer":"` + nodeP + `"`},
		{"transcript check", `"value":"` + nodeP + `"`},
		{"manifest divergence", `"host": "root@` + dbP + `:2222"`},
		{"transcript note", "ip-" + strings.ReplaceAll(nodeP, ".", "-") + " is the node behind host1"},
		{"manifest target", `"name": "root@` + dbP + `:2222"`},
		{"manifest skipped", "open /var/lib/ip-" + strings.ReplaceAll(dbP, ".", "-") + "/secret.log: permission denied"},
		{"manifest flag", `"pseudonymised": true`},
		{"report", "Escalate: " + dbP + " refuses connections."},
		{"report", "- pseudonymised: IP addresses and host names are stand-ins"},
		{"report", "- target db: `root@" + dbP + ":2222` (host key ssh-ed25519 SHA256:3nq2"},
	} {
		hay := everything
		switch {
		case strings.HasPrefix(want.where, "transcript"):
			hay = tr
		case strings.HasPrefix(want.where, "manifest"):
			hay = man
		case want.where == "report":
			hay = rep
		}
		if !strings.Contains(hay, want.text) {
			t.Errorf("%s lack %q", want.where, want.text)
		}
	}
	if t.Failed() {
		t.Logf("members: %v\nreport:\n%s", names, rep)
	}
}

// Pseudonymisation is done in the redaction pass: asking for it without
// redaction is refused, not silently ignored.
func TestPseudonymiseNeedsRedaction(t *testing.T) {
	_, err := New(Options{Path: t.TempDir(), Runbook: testRunbook(), NoRedact: true, Pseudonymise: true})
	if err == nil || !strings.Contains(err.Error(), "drop --no-redact") {
		t.Fatalf("got %v", err)
	}
}
