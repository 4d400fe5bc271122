// Package ssh runs runbook steps on hosts: over SSH with golang.org/x/crypto/ssh
// and github.com/pkg/sftp (Client), and on this machine for targets bound to
// `local` (Local).
//
// The Client behaves like an OpenSSH user expects: ssh_config (aliases,
// ProxyJump, IdentityFile...), the agent, and known_hosts with strict host key
// checking by default. One connection per host is pooled and multiplexed
// (MaxSessions per connection, the rest queue), kept alive with
// keepalive@openssh.com and re-dialled when it breaks.
//
// Commands run in the host's /bin/sh whatever the target user's login shell
// is, so it does not change their meaning, beside a watchdog that ends the
// whole remote process group (TERM, then KILL) when the Client closes stdin:
// at a step's timeout, on cancel, or when the connection goes. Timeouts are
// kept here, not by timeout(1) on the host, which cost every step an exec. The exact command line format lives in
// remote_command.go; the test server in sshtest parses it back.
package ssh
