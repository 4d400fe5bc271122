package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const pseudoRunbook = `runbook: 1
id: pseudo
title: Who talks to whom
targets:
  host: {description: the machine}
steps:
  - id: peers
    title: Which peers connected?
    run: {on: host, cmd: "hostname; grep -h 'Accepted' LOGDIR/auth.log", timeout: 10s}
    next: gather
  - id: gather
    title: Collect the logs
    collect:
      - {on: host, files: "LOGDIR/*.log"}
      - {on: host, cmd: "cat LOGDIR/ip-10-0-1-2.log"}
    next: done
  - id: done
    end: escalated
    message: Send the bundle to the vendor.
`

// TestPseudonymiseFlag: `run --auto --pseudonymise` on this machine: the
// address in the auth log, the dashed node name in a file name and the
// machine's own host name (printed by the probe) are stand-ins in every
// member of the bundle, and the same stand-in each time; the map is
// beside the bundle (0600), announced on stderr and in --output json.
// The flag needs a bundle, and redaction.
func TestPseudonymiseFlag(t *testing.T) {
	self, err := os.Hostname()
	if err != nil || len(self) < 2 {
		t.Skip("SKIP: no usable host name: ", self, err)
	}
	isolateState(t)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	writeLog := func(name, text string) {
		if err := os.WriteFile(filepath.Join(logs, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeLog("auth.log", "Dec  2 00:41:07 "+self+" sshd[20911]: Accepted publickey for deploy from 10.0.1.2 port 52514 ssh2: ED25519 SHA256:3nq2cFq0fQyG3QkJbGmO7n9qkqXh9hK1uT3l1mZ0l4E\n")
	writeLog("ip-10-0-1-2.log", `I1202 00:41:11.204331    1187 kubelet_node_status.go:76] "Attempting to register node" node="ip-10-0-1-2.eu-west-1.compute.internal" addr=2a05:d014:e2f:5c00:8f1e:2c4b:91d3:7a10`+"\n")
	rb := filepath.Join(dir, "pseudo.yaml")
	if err := os.WriteFile(rb, []byte(strings.ReplaceAll(pseudoRunbook, "LOGDIR", logs)), 0o644); err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, "bundles")
	if err := os.Mkdir(bdir, 0o700); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := mainRun([]string{"run", rb, "--target", "host=local", "--auto", "--output", "json", "--bundle", bdir, "--pseudonymise"}, strings.NewReader(""), &stdout, &stderr)
	if code != 3 { // escalated
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var res struct {
		Bundle       string `json:"bundle"`
		PseudonymMap string `json:"pseudonym_map"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.PseudonymMap == "" || filepath.Dir(res.PseudonymMap) != bdir || !strings.Contains(stderr.String(), "pseudonym map "+res.PseudonymMap) {
		t.Fatalf("map %q not announced:\n%s", res.PseudonymMap, stderr.String())
	}
	st, err := os.Stat(res.PseudonymMap)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("map: %v %v", err, st)
	}
	raw, _ := os.ReadFile(res.PseudonymMap)
	of := map[string]string{}
	var doc struct {
		Pairs []struct{ Real, Pseudonym string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Pairs {
		of[p.Real] = p.Pseudonym
	}
	ip, me := of["10.0.1.2"], of[strings.ToLower(self)]
	if ip == "" || me == "" {
		t.Fatalf("map lacks the address or this machine's name:\n%s", raw)
	}
	members := bundleMembers(t, res.Bundle)
	all := ""
	for name, b := range members {
		all += name + "\n" + b + "\n"
	}
	selfRE := regexp.MustCompile(`(?i)(^|[^A-Za-z0-9-])` + regexp.QuoteMeta(self) + `($|[^A-Za-z0-9-])`)
	for _, real := range []string{"10.0.1.2", "10-0-1-2", "2a05:d014"} {
		if strings.Contains(all, real) {
			t.Errorf("%q is in the bundle", real)
		}
	}
	if selfRE.MatchString(all) {
		t.Errorf("this machine's name %q is in the bundle", self)
	}
	dashed := "ip-" + strings.ReplaceAll(ip, ".", "-")
	for _, want := range []string{
		"files/" + strings.TrimPrefix(logs, "/") + "/" + dashed + ".log",    // the file name
		"from " + ip + " port 52514",                                        // the collected auth log
		`node="` + dashed + `.eu-west-1.compute.internal" addr=2001:db8::1`, // collected command output
		"Dec  2 00:41:07 " + me + " sshd",                                   // the probe's output
		`"pseudonymised": true`,
		"- pseudonymised: IP addresses and host names are stand-ins",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("bundle lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("members:\n%s", all)
	}
	stdout.Reset()
	if code := mainRun([]string{"bundle", "inspect", res.Bundle}, strings.NewReader(""), &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "pseudonymised: addresses and host names are stand-ins") || strings.Contains(stdout.String(), "10.0.1.2") {
		t.Errorf("bundle inspect: exit %d\n%s", code, stdout.String())
	}

	for _, bad := range [][]string{
		{"run", rb, "--target", "host=local", "--auto", "--pseudonymise"},
		{"run", rb, "--target", "host=local", "--auto", "--pseudonymise", "--no-redact", "--bundle", bdir},
	} {
		stderr.Reset()
		if code := mainRun(bad, strings.NewReader(""), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--pseudonymise") {
			t.Errorf("%v: exit %d, %s", bad, code, stderr.String())
		}
	}
}

// bundleMembers reads every member of a bundle (gzip-compressed members
// unpacked).
func bundleMembers(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for range 10000 {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
	return out
}

// TestDemoPseudonymise: demo takes the bundle flags too; its bundle is
// pseudonymised and the map announced.
func TestDemoPseudonymise(t *testing.T) {
	isolateState(t)
	bdir := t.TempDir()
	var stdout, stderr bytes.Buffer
	mainRun([]string{"demo", "mrs-alm-45641", "--scenario", "network-fault", "--auto", "--speed", "1000000", "--bundle", bdir, "--pseudonymise"},
		strings.NewReader(""), &stdout, &stderr)
	maps, _ := filepath.Glob(filepath.Join(bdir, "*.pseudonyms-PRIVATE.json"))
	if len(maps) != 1 || !strings.Contains(stderr.String(), "pseudonym map "+maps[0]) {
		t.Fatalf("maps %v\n%s\n%s", maps, stdout.String(), stderr.String())
	}
	bundles, _ := filepath.Glob(filepath.Join(bdir, "*.tar.gz"))
	if len(bundles) != 1 || !strings.Contains(bundleMembers(t, bundles[0])["manifest.json"], `"pseudonymised": true`) {
		t.Fatalf("bundles %v", bundles)
	}
}
