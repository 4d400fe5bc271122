#!/bin/sh
# Bundle benchmark: collect a directory of mixed logs into a finished bundle
# (Local executor, and SFTP from a real sshd on loopback), measured in the
# same run as scp -r and tar of that directory. Results: docs/benchmarks.md.
#
#   bench/bundle/run.sh [SIZE]      (default 256MiB; the issue's 1GiB works too)
#
# Everything lives under $WORK (default /tmp/runbook-bench-bundle); the sshd
# it starts listens on 127.0.0.1 only and is stopped by its PID.
set -eu
SIZE=${1:-256MiB}
WORK=${WORK:-/tmp/runbook-bench-bundle}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$WORK"
cd "$ROOT"
go build -o "$WORK/bundlebench" ./bench/bundle
DATA="$WORK/data-$SIZE"
if [ ! -d "$DATA" ]; then
	"$WORK/bundlebench" gen -dir "$DATA" -size "$SIZE"
fi
echo "data: $(du -sh "$DATA" | cut -f1) in $(ls "$DATA" | wc -l) files ($(nproc) cores)"
sync

t() { # label, command...: wall seconds and peak RSS via /usr/bin/time
	label=$1; shift
	/usr/bin/time -f "%e %M" -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/cmd.err" || { cat "$WORK/cmd.err"; return 1; }
	read -r wall rss < "$WORK/time.out"
	printf '%-34s wall %6.2fs  peak RSS %6.1f MiB\n' "$label" "$wall" "$(echo "$rss/1024" | bc -l)"
}

# warm the page cache so every contender reads from memory
cat "$DATA"/* > /dev/null

rm -rf "$WORK/out" && mkdir -p "$WORK/out"
t "tar cf (no compression)" sh -c "tar cf - -C '$DATA' . > '$WORK/out/plain.tar'"
t "tar czf (gzip -6, 1 thread)" sh -c "tar czf '$WORK/out/plain.tgz' -C '$DATA' ."
rm -rf "$WORK/out" && mkdir -p "$WORK/out"
t "bundle, Local executor" "$WORK/bundlebench" collect -dir "$DATA" -out "$WORK/out" -verify=false
"$WORK/bundlebench" collect -dir "$DATA" -out "$WORK/out/v" 2>/dev/null | tail -1 || true
rm -rf "$WORK/out" && mkdir -p "$WORK/out"
t "bundle, Local, --no-redact" "$WORK/bundlebench" collect -dir "$DATA" -out "$WORK/out" -no-redact -verify=false

# A real sshd on loopback.
SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ]; then echo "no sshd: skipping the SSH comparison"; exit 0; fi
S="$WORK/sshd"; rm -rf "$S"; mkdir -p "$S"; chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/id"
cp "$S/id.pub" "$S/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$S/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $PORT
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PidFile $S/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
CFG
echo "[127.0.0.1]:$PORT $(cat "$S/host_key.pub")" > "$S/known_hosts"
"$SSHD" -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
SSHD_PID=$!
trap 'kill $SSHD_PID 2>/dev/null || true' EXIT INT TERM
for i in $(seq 50); do
	ssh -q -o BatchMode=yes -o UserKnownHostsFile="$S/known_hosts" -i "$S/id" -p "$PORT" root@127.0.0.1 true 2>/dev/null && break
	sleep 0.1
done
SSHO="-o BatchMode=yes -o UserKnownHostsFile=$S/known_hosts -i $S/id"

rm -rf "$WORK/out" && mkdir -p "$WORK/out"
t "scp -r" scp -q -r $SSHO -P "$PORT" "root@127.0.0.1:$DATA" "$WORK/out/scp"
rm -rf "$WORK/out" && mkdir -p "$WORK/out"
t "ssh 'tar cf -' (cipher ceiling)" sh -c "ssh $SSHO -p $PORT root@127.0.0.1 'tar cf - -C $DATA .' > '$WORK/out/ssh.tar'"
rm -rf "$WORK/out" && mkdir -p "$WORK/out"
t "bundle, SSH executor (SFTP)" "$WORK/bundlebench" collect -dir "$DATA" -out "$WORK/out" -verify=false \
	-ssh "127.0.0.1:$PORT" -identity "$S/id" -known-hosts "$S/known_hosts"
"$WORK/bundlebench" collect -dir "$DATA" -out "$WORK/out/v" -ssh "127.0.0.1:$PORT" -identity "$S/id" -known-hosts "$S/known_hosts" | tail -1
rm -rf "$WORK/out"
