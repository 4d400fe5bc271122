package redact

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCopyPseudonymised: redaction with and without pseudonymisation
// over real-looking syslog, access log and `ip addr` lines.
func BenchmarkCopyPseudonymised(b *testing.B) {
	var text []byte
	for _, n := range []string{"syslog", "access.log", "ip-addr"} {
		t, err := os.ReadFile(filepath.Join("testdata", "pseudo", n))
		if err != nil {
			b.Fatal(err)
		}
		text = append(text, t...)
	}
	text = bytes.Repeat(text, (8<<20)/len(text))
	for _, pseudo := range []bool{false, true} {
		name := "redact"
		if pseudo {
			name = "redact+pseudonymise"
		}
		b.Run(name, func(b *testing.B) {
			red, _ := New(DefaultRules(), nil)
			if pseudo {
				p := NewPseudonymiser()
				p.AddHost("web-1.prod.example.com")
				red.SetPseudonymiser(p)
			}
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := red.Copy(io.Discard, bytes.NewReader(text), Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
