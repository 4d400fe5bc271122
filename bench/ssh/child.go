package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	gossh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/ssh/sshtest"
)

// childConfig is what the fetch child needs to reach the bench sshd; it
// runs in its own process so its peak RSS is the client's alone.
type childConfig struct {
	Target, IdentityFile, KnownHosts string
}

func encodeChild(o *sshtest.OpenSSH) string {
	b, _ := json.Marshal(childConfig{Target: o.Target(), IdentityFile: o.IdentityFile, KnownHosts: o.KnownHosts})
	return string(b)
}

func newClient(cfg rbssh.Config) (*rbssh.Client, error) { return rbssh.New(cfg) }

func runFetchChild(remote, dst string) int {
	var cc childConfig
	if err := json.Unmarshal([]byte(os.Getenv("RUNBOOK_BENCH")), &cc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	key, err := os.ReadFile(cc.IdentityFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	signer, err := gossh.ParsePrivateKey(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := rbssh.Config{Signers: []gossh.Signer{signer}, NoAgent: true, NoDefaultIdentities: true, NoSSHConfig: true, KnownHosts: []string{cc.KnownHosts}}
	n, b, err := fetchDir(context.Background(), cfg, engine.Host{Name: cc.Target}, remote, dst)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "fetched %d files, %d bytes\n", n, b)
	return 0
}
