#!/usr/bin/env bash
# Side-by-side SSH transport benchmark against a real loopback sshd.
# Usage: bench/ssh/run.sh [-n REPS] [-files N] [-file-mib MIB]
# Defaults measure 1 GiB (200 files x 5 MiB); see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v sshd >/dev/null && [ ! -x /usr/sbin/sshd ]; then
  echo "needs OpenSSH sshd (apt-get install -y openssh-server)" >&2; exit 1
fi
[ -d /run/sshd ] || mkdir -p /run/sshd
go build -o /tmp/runbook-ssh-bench ./bench/ssh
/tmp/runbook-ssh-bench "$@"
echo
echo "## go test -bench (same operations, testing package)"
go test -run '^$' -bench . -benchtime 20x ./bench/ssh/
