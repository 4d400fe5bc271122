package redact

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func newTest(t *testing.T, extra ...Rule) *Redactor {
	t.Helper()
	r, err := New(append(DefaultRules(), extra...), []string{"s3cr3t-Param-Value"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The corpus: each line holds one secret in one format. The secret value
// must be gone from the output and the named rule must have fired.
var corpus = []struct {
	name, line, secret, rule string
}{
	{"key=value password", "db.password=hunter2xyz connecting", "hunter2xyz", "key-value-secret"},
	{"shell export", `export MYSQL_PWD='Tr0ub4dor&3'`, "Tr0ub4dor&3", "key-value-secret"},
	{"yaml password", "  password: correct-horse-battery", "correct-horse-battery", "key-value-secret"},
	{"yaml api key", "api_key: 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706", "key-value-secret"},
	{"json password", `{"user":"bob","password":"p@ss w0rd\"q"}`, `p@ss w0rd\"q`, "json-secret"},
	{"json client secret", `{"client_secret": "cs-77aa88bb99"}`, "cs-77aa88bb99", "json-secret"},
	{"bearer header", "Authorization: Bearer abcDEF123456.ghiJKL-789_xyz", "abcDEF123456.ghiJKL-789_xyz", "authorization-header"},
	{"basic header", "authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "authorization-header"},
	{"curl bearer", `curl -H "X-Auth: bearer 0123456789abcdefXYZ" https://api`, "0123456789abcdefXYZ", "bearer-token"},
	{"aws access key id", "aws_access_key_id AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE", "aws-access-key-id"},
	{"aws secret key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws-secret-access-key"},
	{"url credentials", "connecting to postgres://app:Sup3rS3cret@db.internal:5432/app", "Sup3rS3cret", "url-credentials"},
	{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U seen", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"},
	{"github token", "GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github-token"},
	{"slack token", "hook xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij", "slack-token"},
	{"google api key", "key AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv", "google-api-key"},
	{"stripe key", "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"},
	{"cookie", "Cookie: session=4f2a9c81d0e7; theme=dark", "4f2a9c81d0e7", "cookie-header"},
	{"pem on one line", `{"key":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBYbVjPrWQB\n-----END EC PRIVATE KEY-----"}`, "MHcCAQEEIBkg4LVWM9nuwNSk3yBYbVjPrWQB", "pem-private-key"},
	{"secret param", "mysql -u root -ps3cr3t-Param-Value -e status", "s3cr3t-Param-Value", "secret-param"},
	{"runbook rule", "license LIC-1234-5678-ABCD accepted", "LIC-1234-5678-ABCD", "license"},
	// Formats that leaked before issue 13.
	{"escaped json in json", `{"msg":"{\"access_token\":\"ya29.a0AfH6SMBxq\",\"user\":\"bob\"}"}`, "ya29.a0AfH6SMBxq", "json-escaped-secret"},
	{"double escaped json", `"{\\\"client_secret\\\":\\\"cs-ZZ11yy22\\\"}"`, "cs-ZZ11yy22", "json-escaped-secret"},
	{"mysql -p attached", "ps: 4242 mysql -uroot -pS3cr3tPassw0rd appdb", "S3cr3tPassw0rd", "mysql-password"},
	{"mysql -p quoted", `mysqldump -h db -u app -p'Tr0ub4 dor' app`, "Tr0ub4 dor", "mysql-password"},
	{"shadow sha512", "root:$6$rounds=5000$Qx1e2f3g$E5tS9mFJ0oVjN2kq4cYx8hL1wR7uZpA3bD6gH9iK0lM2nO4pQ6rS8tU0vW2xY4zA6bC8dE0fG2hI4jK6lM8nO.:19700:0:99999:7:::", "E5tS9mFJ0oVjN2kq4cYx8hL1wR7uZpA3bD6gH9iK0lM2nO4pQ6rS8tU0vW2xY4zA6bC8dE0fG2hI4jK6lM8nO.", "password-hash"},
	{"shadow yescrypt", "bob:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7:19700:0:99999:7:::", "X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", "password-hash"},
	{"htpasswd apr1", "admin:$apr1$rOioh4Wh$cvR7.uBKBtWuaWbhR8gXp1", "cvR7.uBKBtWuaWbhR8gXp1", "password-hash"},
	{"htpasswd bcrypt", "ops:$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC", "c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC", "password-hash"},
	{"htpasswd sha", "svc:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password-hash"},
	{"xml password element", "<datasource><user>app</user><password>hunter2-xml</password></datasource>", "hunter2-xml", "xml-secret"},
	{"xml dotted element", "  <db.secret.key>k-998877</db.secret.key>", "k-998877", "xml-secret"},
}

func TestCorpusMasked(t *testing.T) {
	r := newTest(t, Rule{Name: "license", Pattern: `LIC-[0-9A-Z-]{14}`})
	if len(corpus) < 15 {
		t.Fatalf("corpus has %d formats, want at least 15", len(corpus))
	}
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			out, res := r.String(c.line)
			if strings.Contains(out, c.secret) {
				t.Errorf("secret survived:\n in: %s\nout: %s", c.line, out)
			}
			if res.Totals[c.rule] == 0 {
				t.Errorf("rule %s did not fire (totals %v):\nout: %s", c.rule, res.Totals, out)
			}
			if !strings.Contains(out, MaskPrefix) {
				t.Errorf("no mask in output: %s", out)
			}
		})
	}
}

// Near misses: lines that look a little like secrets but are not, and that an
// engineer needs intact.
var nearMisses = []string{
	"sshd[812]: Failed password for invalid user admin from 10.0.0.7 port 51122 ssh2",
	"sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/ls",
	"GET https://example.com:8443/api/v1/items?page=2 200",
	"ERROR authorization failed for user bob",
	"-----BEGIN CERTIFICATE-----",
	"-----BEGIN PUBLIC KEY-----",
	"commit 3f786850e387550fdab836ed7e6dc881de23001b merged",
	"AKIA123 is too short to be a key id",
	"header eyJhbGciOiJIUzI1NiJ9 without payload",
	"the bearer of bad news",
	"cat: /etc/passwd: Permission denied",
	"2026-11-28 03:14:15,926 INFO token bucket refilled at 12:00:01",
	"mysql -p -u root appdb",
	"daemon:*:19700:0:99999:7:::",
	"bob:!:19700:0:99999:7:::",
	"<password/>",
	"grep -p pattern file",
}

func TestNearMissesUntouched(t *testing.T) {
	r := newTest(t)
	for _, line := range nearMisses {
		out, res := r.String(line)
		if out != line || len(res.Totals) != 0 {
			t.Errorf("near miss changed (%v):\n in: %s\nout: %s", res.Totals, line, out)
		}
	}
}

func TestPEMBlockAcrossLines(t *testing.T) {
	r := newTest(t)
	in := "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\nZm9vYmFyYmF6cXV4\n-----END RSA PRIVATE KEY-----\nafter password=x1y2z3\n"
	var out bytes.Buffer
	res, err := r.Copy(&out, strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, s := range []string{"MIIEowIBAAKCAQEA7bq", "Zm9vYmFyYmF6cXV4", "x1y2z3"} {
		if strings.Contains(got, s) {
			t.Errorf("%q survived:\n%s", s, got)
		}
	}
	for _, s := range []string{"before\n", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----\n", "after password="} {
		if !strings.Contains(got, s) {
			t.Errorf("%q missing:\n%s", s, got)
		}
	}
	want := []Hit{{Line: 2, Rule: "pem-private-key", Count: 1}, {Line: 6, Rule: "key-value-secret", Count: 1}}
	if len(res.Hits) != 2 || res.Hits[0] != want[0] || res.Hits[1] != want[1] {
		t.Errorf("hits = %+v, want %+v", res.Hits, want)
	}
	if res.Out != int64(len(got)) || res.In != int64(len(in)) {
		t.Errorf("In/Out = %d/%d, want %d/%d", res.In, res.Out, len(in), len(got))
	}
}

// An unterminated block masks everything after it: safer than leaking.
func TestPEMUnterminated(t *testing.T) {
	r := newTest(t)
	in := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\nAAAABG5vbmU\n"
	out, _ := r.String(in)
	if strings.Contains(out, "b3BlbnNz") || strings.Contains(out, "AAAABG5v") {
		t.Fatalf("key body survived: %q", out)
	}
}

func TestLineNumbersAcrossChunks(t *testing.T) {
	r := newTest(t)
	var b strings.Builder
	for b.Len() < 3*chunkSize {
		b.WriteString("2026-11-28 03:00:00 INFO nothing to see here\n")
	}
	lines := strings.Count(b.String(), "\n")
	b.WriteString("password=late-secret\n")
	var out bytes.Buffer
	res, err := r.Copy(&out, strings.NewReader(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "late-secret") {
		t.Fatal("secret survived")
	}
	if len(res.Hits) != 1 || res.Hits[0].Line != lines+1 {
		t.Fatalf("hits = %+v, want one on line %d", res.Hits, lines+1)
	}
	if res.Lines != lines+1 {
		t.Errorf("Lines = %d, want %d", res.Lines, lines+1)
	}
}

func TestBinaryAndLongLineRefused(t *testing.T) {
	r := newTest(t)
	_, err := r.Copy(&bytes.Buffer{}, strings.NewReader("text\x00more"), Options{})
	if !errors.Is(err, ErrBinary) {
		t.Errorf("NUL: err = %v, want ErrBinary", err)
	}
	long := strings.Repeat("a", MaxLine+10) + "\n"
	_, err = r.Copy(&bytes.Buffer{}, strings.NewReader(long), Options{})
	if !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: err = %v, want ErrLineTooLong", err)
	}
}

func TestDropFirstLine(t *testing.T) {
	r := newTest(t)
	var out bytes.Buffer
	res, err := r.Copy(&out, strings.NewReader("sword=hunter2\nline two\n"), Options{DropFirstLine: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "line two\n" || res.Dropped != 14 {
		t.Fatalf("out = %q dropped %d", out.String(), res.Dropped)
	}
}

// Counting into io.Discard and copying for real must agree byte for byte:
// the bundle writes the tar header from the first pass.
func TestCountMatchesCopy(t *testing.T) {
	r := newTest(t)
	in := strings.Repeat("a password=abc b\nplain line\nAKIAIOSFODNN7EXAMPLE\n", 20000)
	var out bytes.Buffer
	r1, _ := r.Copy(discard{}, strings.NewReader(in), Options{DropFirstLine: true})
	r2, _ := r.Copy(&out, strings.NewReader(in), Options{DropFirstLine: true})
	if r1.Out != r2.Out || r2.Out != int64(out.Len()) {
		t.Fatalf("count %d, copy %d, written %d", r1.Out, r2.Out, out.Len())
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkCopyPlainLogs(b *testing.B) {
	r, _ := New(DefaultRules(), []string{"param-secret"})
	var sb strings.Builder
	for sb.Len() < 8<<20 {
		sb.WriteString("2026-11-28 03:14:15,926 INFO  [main] org.example.Service - request handled in 12 ms user=alice\n")
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for range b.N {
		if _, err := r.Copy(discard{}, strings.NewReader(in), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
