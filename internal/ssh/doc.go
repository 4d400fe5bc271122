// Package ssh runs runbook steps on hosts: over SSH with golang.org/x/crypto/ssh
// and github.com/pkg/sftp, and on this machine for targets bound to `local`.
package ssh
