package journal

import (
	"testing"
)

// FuzzParse: no journal file, however damaged or hostile, may panic the
// reader; what it accepts has a header whose source matches its sha256.
func FuzzParse(f *testing.F) {
	src := "runbook: 1\n"
	f.Add([]byte(`{"type":"journal.header","journal":1,"id":"x","runbook":"r","sha256":"` + sum(src) + `","source":"runbook: 1\n","started":"2026-01-02T03:04:05Z","pid":1}` + "\n" +
		`{"seq":1,"time":"2026-01-02T03:04:05Z","type":"output","step":"s","host":"h","stream":"stdout","data":"\u001b]52;c;eA==\u0007"}` + "\n" +
		`{"seq":2,"time":"2026-01-02T03:04:05Z","type":"result","step":"s","host":"h","exit":0}` + "\n" + `{"seq":3,"ty`))
	f.Add([]byte(`{"type":"journal.header","journal":99}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, _, err := parse("f.jsonl", data)
		if err != nil {
			return
		}
		if h.Type != TypeHeader || h.VerifySource() != nil {
			t.Fatalf("accepted a journal with header %+v", h)
		}
	})
}
