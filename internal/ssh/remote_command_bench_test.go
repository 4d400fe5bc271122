package ssh

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLoginShellForms: what a host pays to start a command, as sshd
// starts it (`bash -c LINE`, the process group of its own, stdin held open
// by us): the bare command, the stdin form the Client sends, and the argv
// (printf) form it sent before and still sends for sudo. cpu-ms/op is the
// login shell's and its children's CPU (wait4's rusage).
//
//	go test -run '^$' -bench LoginShellForms -benchtime 300x ./internal/ssh
func BenchmarkLoginShellForms(b *testing.B) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		b.Skip("no bash")
	}
	rc := RemoteCommand{Script: "true", Nonce: "runbook-0123456789abcdef", KillAfter: 5 * time.Second}
	for _, f := range []struct {
		name    string
		line    string
		payload []byte
	}{
		{"bare", "true", nil},
		{"stdin", rc.String(), rc.Payload()},
		{"argv-printf", bootstrapPrefix + printfFormat(rc.Inner()) + bootstrapSuffix, nil},
	} {
		b.Run(f.name, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				cmd := exec.Command(bash, "-c", f.line)
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // kill 0 stays in its group
				stdin, err := cmd.StdinPipe()
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				if _, err := stdin.Write(f.payload); err != nil {
					b.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					b.Fatalf("%s: %v", f.name, err)
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
