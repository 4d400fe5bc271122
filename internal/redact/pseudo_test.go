package redact

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// pseudonymRE finds what a Pseudonymiser hands out.
var pseudonymRE = regexp.MustCompile(`host[0-9]+(?:\.domain[0-9]+\.invalid)?|domain[0-9]+\.invalid|ip-198-1[89]-[0-9]+-[0-9]+|198\.1[89]\.[0-9]+\.[0-9]+|2001:db8::[0-9a-f:]*[0-9a-f]`)

// reverse puts the real values back using the map alone: what a support
// engineer's counterpart does with the map the operator kept.
func reverse(t *testing.T, p *Pseudonymiser, s string) string {
	t.Helper()
	back := map[string]string{}
	for _, q := range p.Mapping() {
		if r, dup := back[q.Pseudonym]; dup && r != q.Real && !strings.HasPrefix(q.Real, r+".") && !strings.HasPrefix(r, q.Real+".") {
			t.Errorf("pseudonym %s stands for both %s and %s", q.Pseudonym, r, q.Real)
		}
		if _, dup := back[q.Pseudonym]; !dup || len(q.Real) < len(back[q.Pseudonym]) {
			back[q.Pseudonym] = q.Real
		}
		if q.Kind == "ipv4" {
			back["ip-"+strings.ReplaceAll(q.Pseudonym, ".", "-")] = "ip-" + strings.ReplaceAll(q.Real, ".", "-")
		}
	}
	return pseudonymRE.ReplaceAllStringFunc(s, func(m string) string {
		if r, ok := back[m]; ok {
			return r
		}
		t.Errorf("pseudonym %q is not in the map", m)
		return m
	})
}

// TestPseudonymiseRealLogs: syslog (sshd, kubelet with an EC2 node name,
// dhclient, named, cron), `ip addr` and an nginx access log. Every address
// and learned host name is replaced, consistently across the files (the
// same stand-in for 10.0.1.2 in syslog, in the access log's IPv4-mapped
// form and in the dashed node name); what identifies no site (loopback,
// MAC addresses, versions, OIDs, times, a host key fingerprint, look-alike
// names such as web-10) is kept; the map alone gives the original back;
// and a second pass changes nothing.
func TestPseudonymiseRealLogs(t *testing.T) {
	p := NewPseudonymiser()
	p.AddHost("deploy@web-1.prod.example.com:22")
	p.AddHost("10.0.1.2") // an address target needs no learning
	red, err := New(DefaultRules(), nil)
	if err != nil {
		t.Fatal(err)
	}
	red.SetPseudonymiser(p)
	files := map[string]string{}
	outs := map[string]string{}
	for _, name := range []string{"syslog", "ip-addr", "access.log"} {
		in, err := os.ReadFile(filepath.Join("testdata", "pseudo", name))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res, err := red.Copy(&out, bytes.NewReader(in), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Pseudonyms == 0 || !res.Changed() {
			t.Errorf("%s: %d pseudonyms, changed %v", name, res.Pseudonyms, res.Changed())
		}
		files[name], outs[name] = string(in), out.String()
	}
	all := strings.Join([]string{outs["syslog"], outs["ip-addr"], outs["access.log"]}, "\n")
	low := strings.ToLower(strings.NewReplacer("web-10", "", "web-1-old", "").Replace(all))
	for _, real := range []string{"10.0.1.2", "10-0-1-2", "10.0.1.17", "10.0.0.1", "10.0.3.44", "10.0.1.255", "203.0.113.77",
		"2a05:d014", "fe80::42", "web-1", "db-3", "example.com"} {
		if strings.Contains(low, real) {
			t.Errorf("%q survived:\n%s", real, all)
		}
	}
	for _, kept := range []string{"127.0.0.1", "[::1]:9090", "inet6 ::1/128", "02:42:ac:11:00:02", "ff:ff:ff:ff:ff:ff", "00:41:07",
		"nginx/1.25.3", "1.3.6.1.4.1.2021", "kube-probe/1.29", "SHA256:3nq2cFq0fQyG3QkJbGmO7n9qkqXh9hK1uT3l1mZ0l4E",
		"--to web-10 --from web-1-old", "eu-west-1.compute.internal", "Gecko/20100101"} {
		if !strings.Contains(all, kept) {
			t.Errorf("%q was changed:\n%s", kept, all)
		}
	}
	var v4 string
	for _, q := range p.Mapping() {
		if q.Real == "10.0.1.2" {
			v4 = q.Pseudonym
		}
	}
	if v4 == "" {
		t.Fatalf("10.0.1.2 not in the map: %v", p.Mapping())
	}
	for _, want := range []struct{ file, text string }{
		{"syslog", "from " + v4 + " port"},
		{"syslog", `node="ip-` + strings.ReplaceAll(v4, ".", "-") + `.eu-west-1.compute.internal"`},
		{"access.log", v4 + " - - [02/Dec"},
		{"access.log", "::ffff:" + v4 + " - -"},
		{"syslog", " host1 sshd[20911]"},
		{"syslog", "app@host2.domain1.invalid:5432"},
		{"syslog", "peer host1.domain1.invalid"},
		{"syslog", " host1.domain1.invalid CRON"},
	} {
		if !strings.Contains(outs[want.file], want.text) {
			t.Errorf("%s lacks %q:\n%s", want.file, want.text, outs[want.file])
		}
	}
	for name, out := range outs {
		if got := reverse(t, p, out); got != strings.ToLower(files[name]) && !strings.EqualFold(got, files[name]) {
			t.Errorf("%s: the map does not give the original back:\n%s", name, got)
		}
		again, _ := red.String(out)
		if again != out {
			t.Errorf("%s: a second pass changed it:\n%s", name, again)
		}
	}
}

// TestPseudonymsAreStableAndDistinct: one stand-in per real value however
// often and wherever it appears; different real values never share one;
// short and full forms of a learned name are the same host; stand-ins
// are handed out in order of first appearance.
func TestPseudonymsAreStableAndDistinct(t *testing.T) {
	p := NewPseudonymiser()
	p.AddHost("web-1.prod.example.com")
	p.AddHost("ssh://root@[2001:db8:aaaa::5]:2222") // documentation range is already a stand-in
	for range 3 {
		for _, c := range [][2]string{
			{"web-1", "host1"},
			{"web-1.prod.example.com", "host1.domain1.invalid"},
			{"prod.example.com", "domain1.invalid"},
			{"db-3.prod.example.com", "host2.domain1.invalid"},
			{"a.b.prod.example.com", "host3.domain1.invalid"},
			{"10.9.8.7 and 10.9.8.8", "198.18.0.1 and 198.18.0.2"},
			{"ip-10-9-8-7", "ip-198-18-0-1"},
			{"fd00::1 fd00::2 fd00::1", "2001:db8::1 2001:db8::2 2001:db8::1"},
			{"web-1_access.log", "host1_access.log"},
			{"/var/log/web-1/ip-10-9-8-8.log", "/var/log/host1/ip-198-18-0-2.log"},
		} {
			in, want := c[0], c[1]
			if got := p.String(in); got != want {
				t.Errorf("%q → %q, want %q", in, got, want)
			}
		}
	}
}

// TestPseudonymiserConcurrent: the bundle pseudonymises file contents and
// events from different goroutines with one map; every goroutine sees the
// same stand-in for the same address, and no two addresses share one.
func TestPseudonymiserConcurrent(t *testing.T) {
	p := NewPseudonymiser()
	p.AddHost("web-1.prod.example.com")
	const workers, addrs = 8, 64
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range addrs {
				k := (i + w*7) % addrs // each worker in its own order
				if got[w] == nil {
					got[w] = make([]string, addrs)
				}
				got[w][k] = p.String(fmt.Sprintf("from 10.1.%d.%d via web-1", k/250, k%250+1))
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for k := range addrs {
		for w := 1; w < workers; w++ {
			if got[w][k] != got[0][k] {
				t.Fatalf("address %d: %q in one goroutine, %q in another", k, got[0][k], got[w][k])
			}
		}
		if j, dup := seen[got[0][k]]; dup {
			t.Fatalf("addresses %d and %d share %q", j, k, got[0][k])
		}
		seen[got[0][k]] = k
	}
}
