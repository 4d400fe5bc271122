// Package sshtest runs simulated hosts over real SSH on loopback: an
// in-process SSH+SFTP server (Server) with scripted command responses, and a
// Fleet of them built from a scenario, reached through the real
// internal/ssh Client with strict host key checking. Tests of the SSH
// transport and the seed runbooks, and `runbook demo`, use it.
//
// The server only listens on 127.0.0.1 and is for tests and demos: it
// accepts the client keys it is given, nothing else.
package sshtest
