// Command ssh-bench measures the SSH transport against OpenSSH on a real
// loopback sshd, side by side in one run: per-step latency (warm pooled
// connection vs `ssh -S` over a ControlMaster; cold first step vs `ssh -o
// KexAlgorithms=curve25519-sha256`) and a directory fetch (vs `scp -r`,
// with the client's peak RSS).
//
//	go run ./bench/ssh -n 50 -files 200 -file-mib 5
//
// The Go benchmarks in this directory (go test -bench . ./bench/ssh) run
// the same operations under the testing package.
package main
