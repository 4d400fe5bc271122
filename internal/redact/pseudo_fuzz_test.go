package redact

import (
	"strings"
	"testing"
)

// FuzzPseudonymise: no text panics the Pseudonymiser; a second pass
// changes nothing (pseudonyms are never pseudonymised again); an address
// appended as a word never survives; the Redactor's line pass gives the
// same text as the Pseudonymiser alone when no rule matches.
func FuzzPseudonymise(f *testing.F) {
	for _, s := range []string{
		"Dec  2 00:41:07 web-1 sshd[20911]: Accepted publickey for deploy from 10.0.1.2 port 52514 ssh2",
		`node="ip-10-0-1-2.eu-west-1.compute.internal"`,
		"listening on [2a05:d014:e2f:5c00:8f1e:2c4b:91d3:7a10]:8443 and 127.0.0.1:9090 and [::1]:9090",
		"::ffff:10.0.1.2 - - [02/Dec/2026:00:41:09 +0000]",
		"inet6 fe80::42:acff:fe11:2/64 scope link",
		"1.3.6.1.4.1.2021 nginx/1.25.3 02:42:ac:11:00:02",
		"db-3.prod.example.com WEB-1.PROD.EXAMPLE.COM web-10 web-1-old web-1_access.log",
		"host1.domain1.invalid 198.18.0.1 2001:db8::1 ip-198-18-0-1",
		"a.b.c.prod.example.com.prod.example.com",
		"::::::::1.2.3.4.5.6:::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := NewPseudonymiser()
		p.AddHost("deploy@web-1.prod.example.com:22")
		p.AddHost("db.internal")
		out := p.String(s)
		if again := p.String(out); again != out {
			t.Fatalf("second pass changed\n%q\nto\n%q", out, again)
		}
		const real = "10.20.30.40"
		in := s + " " + real + " "
		if got := p.String(in); strings.Count(got, real) > strings.Count(s, real) {
			t.Fatalf("appended %s survived: %q", real, got)
		}
		if strings.ContainsAny(s, "\n\x00") || len(s) > 4096 {
			return
		}
		red, err := New(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		red.SetPseudonymiser(p)
		if got, _ := red.String(s); got != p.String(s) {
			t.Fatalf("redactor pass %q, pseudonymiser %q", got, p.String(s))
		}
	})
}
