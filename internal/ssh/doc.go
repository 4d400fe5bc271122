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
// Commands run as `sh -c SCRIPT` so the login shell of the target user does
// not change their meaning; with a timeout they run under the remote
// `timeout -k` too, so cancelling a step kills the whole remote process group
// and not only the local wait. The exact command line format lives in
// remote_command.go; the test server in sshtest parses it back.
package ssh
