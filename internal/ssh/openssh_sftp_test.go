package ssh_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
	rbssh "github.com/runbook-dev/runbook/internal/ssh"
)

// TestOpenSSHSFTPSessionPerCollection: with sshd's MaxSessions 1 the one
// session slot must be free again after every collection. Holding the SFTP
// session for the life of the connection made every later probe wait for
// a slot that never came back. probe → collect → probe → collect, with
// the real OpenSSH sshd and sftp-server, with and without a `since` window
// (which measures the remote clock with one more exec).
func TestOpenSSHSFTPSessionPerCollection(t *testing.T) {
	o := startOpenSSH(t, "MaxSessions 1")
	c, err := rbssh.New(o.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := engine.Host{Role: "real", Name: o.Target()}
	ctx := testCtx(t)
	dir := filepath.Join(o.Dir, "var-log")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	syslog := "Dec  2 00:41:07 web-1 systemd[1]: Started Daily apt upgrade and clean activities.\n" +
		"Dec  2 00:41:09 web-1 kernel: [123456.789012] EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro\n"
	writeFile(t, filepath.Join(dir, "syslog"), syslog)
	for i, since := range []time.Duration{0, time.Hour, 0} {
		out := run(ctx, c, h, engine.CommandRequest{Script: fmt.Sprintf("echo probe %d", i), Timeout: 20 * time.Second})
		if out.err != nil || out.res.Exit != 0 || out.stdout != fmt.Sprintf("probe %d\n", i) {
			t.Fatalf("probe %d after %d collections: %+v (%v)", i, i, out, out.err)
		}
		col := newMemCollector()
		if err := c.Fetch(ctx, h, engine.FetchRequest{Step: "collect", Globs: []string{dir + "/syslog"}, Since: since, MaxBytes: 1 << 20}, col); err != nil {
			t.Fatalf("collect %d (since %v): %v", i, since, err)
		}
		if got := col.files[dir+"/syslog"]; got != syslog {
			t.Fatalf("collect %d: got %q", i, got)
		}
	}
	out := run(ctx, c, h, engine.CommandRequest{Script: "echo last", Timeout: 20 * time.Second})
	if out.err != nil || out.stdout != "last\n" {
		t.Fatalf("probe after the last collection: %+v (%v)", out, out.err)
	}
}
