#!/usr/bin/env bash
# tmux-check.sh: start the real runbook binary in a detached tmux session,
# drive the TUI with keys and assert on what tmux shows (capture-pane).
# Needs tmux and Go. Runs only local, read-only commands (df, printf).
#
#   scripts/tmux-check.sh          # run the checks
#   KEEP=1 scripts/tmux-check.sh   # also print every screen checked
set -euo pipefail
cd "$(dirname "$0")/.."

command -v tmux >/dev/null || { echo "tmux-check: tmux is not installed" >&2; exit 2; }

work=$(mktemp -d)
bin=$work/runbook
sess="rbcheck-$$"
go build -o "$bin" ./cmd/runbook

# Our own tmux server (socket), never the user's default one.
sock="rbcheck-$$"
tmux() { command tmux -L "$sock" "$@"; }

cleanup() {
	tmux kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# A session that outlives the checked ones keeps the server up between them
# (killing the last session would stop it while the next one connects).
tmux new-session -d -s keepalive "sleep 3600"
# OSC 52 from the TUI (explain's y) lands in tmux's paste buffer.
tmux set-option -g set-clipboard on

screen() { tmux capture-pane -p -t "$sess"; }

fail() {
	echo "FAIL: $*" >&2
	echo "---- screen ----" >&2
	screen >&2
	exit 1
}

# wait_for TEXT: poll the screen (at most 10 s) until it shows TEXT.
wait_for() {
	for _ in $(seq 1 100); do
		if screen | grep -qF -- "$1"; then
			[ -n "${KEEP:-}" ] && { echo "---- saw: $1"; screen; }
			return 0
		fi
		sleep 0.1
	done
	fail "the screen never showed: $1"
}

# wait_within N TEXT: like wait_for, at most N tenths of a second.
wait_within() {
	for _ in $(seq 1 "$1"); do
		screen | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	fail "the screen did not show within $(($1 / 10)).$(($1 % 10)) s: $2"
}

# wait_gone TEXT: poll the screen (at most 10 s) until TEXT is no longer shown
# (a dismissed dialog redraws on the next frame, later on a loaded machine).
wait_gone() {
	for _ in $(seq 1 100); do
		screen | grep -qF -- "$1" || return 0
		sleep 0.1
	done
	fail "the screen still shows: $1"
}

keys() { tmux send-keys -t "$sess" "$@"; }

# esc sends Escape alone: a key right after it would read as alt+key.
esc() { keys Escape; sleep 0.3; }

n=0
start() { # start W H ARGS...
	# A state directory per start: two runs in one second would otherwise
	# name the same bundle file.
	n=$((n + 1))
	start_in "$work/state$n" "$@"
}
start_in() { # start_in STATE_DIR W H ARGS...
	local st=$1 w=$2 h=$3
	shift 3
	tmux kill-session -t "$sess" 2>/dev/null || true
	tmux new-session -d -s "$sess" -x "$w" -y "$h" \
		"SSH_AUTH_SOCK= XDG_STATE_HOME=$st $bin $* ; echo EXIT=\$?; sleep 60"
}

echo "1. walk local-disk-health to resolved at 80x24"
start 80 24 run runbooks/local-disk-health.yaml --target host=local --param limit=100
wait_for "Ready to run on local."
wait_for "local \$ df -P / | tail -n 1"
[ "$(screen | wc -l)" -eq 24 ] || fail "screen is not 24 lines"
screen | tail -n 1 | grep -qF "enter run" || fail "no key hints in the status bar"
keys g
wait_for "The whole procedure"
wait_for "▶ 1 check-space"
esc
keys '?'
wait_for "✓ passed"
wait_for "enter    run / proceed"
esc
keys Enter
wait_for "→ exit 0, used="
keys N
wait_for "Note for this step"
keys -l "checked from tmux"
keys Enter
wait_for "note added to check-space"
keys /
keys -l "%"
keys Enter
wait_for "match 1 of"
keys Enter
wait_for "2 Are inodes nearly exhausted? · run"
keys Enter
wait_for "→ exit 0"
keys Enter
wait_for "Outcome: RESOLVED"
wait_for "Space and inodes are within limits."
wait_for "checked from tmux"
keys q
wait_for "local-disk-health: resolved"
wait_for "EXIT=0"

echo "2. a hostile probe cannot take over the terminal"
start 80 24 run internal/ui/testdata/tmux-evil.yaml --target host=local
wait_for "Ready to run on local."
keys Enter
wait_for 'FAILED\rPASSED'
wait_for '\x1b]52;c;cm0gLXJmIC8K\x07'
wait_for '<U+202E>SSAP'
title=$(tmux display-message -p -t "$sess" '#{pane_title}')
[ "$title" != "pwned" ] || fail "the probe set the window title"
case "$title" in *runbook*) ;; *) fail "window title is '$title', want the TUI's own" ;; esac
wait_for "→ exit 0"

echo "3. resize live to 200x50 and back"
tmux resize-window -t "$sess" -x 200 -y 50
wait_for "1 Print hostile escape sequences"
[ "$(screen | wc -l)" -eq 50 ] || fail "screen is not 50 lines after resize"
wait_for "→ exit 0"
tmux resize-window -t "$sess" -x 80 -y 24
sleep 0.3
[ "$(screen | wc -l)" -eq 24 ] || fail "screen is not 24 lines after resize back"
wait_for "→ exit 0"

echo "4. quit asks first; q y ends aborted (exit 5)"
keys q
wait_for "Quit this session?"
keys n
wait_gone "Quit this session?"
keys q
wait_for "Quit this session?"
keys y
wait_for "tmux-evil: aborted"
wait_for "EXIT=5"

echo "5. ctrl+c cancels a running command, a second press interrupts (exit 130, resumable)"
start 80 24 run runbooks/local-disk-health.yaml --target host=local
wait_for "Ready to run on local."
keys e
wait_for "Edit the command"
keys C-u
keys -l "sleep 30"
keys Enter
wait_for "local \$ sleep 30"
keys Enter
wait_for "ctrl+c cancels the command"
keys C-c
wait_for "previous run was cancelled"
keys C-c
wait_for "local-disk-health: interrupted"
wait_for "resume with: runbook resume"
wait_for "EXIT=130"

echo "6. NO_COLOR: no colour codes reach the terminal, bold/reverse still mark the current step"
tmux kill-session -t "$sess" 2>/dev/null || true
tmux new-session -d -s "$sess" -x 80 -y 24 \
	"NO_COLOR=1 XDG_STATE_HOME=$work/state-nocolor $bin run runbooks/local-disk-health.yaml --target host=local; sleep 60"
wait_for "Ready to run on local."
keys Enter
wait_for "→ exit 0"
if tmux capture-pane -e -p -t "$sess" | grep -qE $'\e\\[([0-9;]*;)?(3[0-7]|9[0-7]|38;[25];[0-9;]*)m'; then
	fail "colour escape codes with NO_COLOR set"
fi
tmux capture-pane -e -p -t "$sess" | grep -qF $'\e[1;7m' || fail "the current step is not marked without colour"

echo "7. first contact with a real OpenSSH sshd (empty known_hosts): fingerprint, accept, reject, ctrl+c"
sshd_bin=/usr/sbin/sshd
[ -x "$sshd_bin" ] || sshd_bin=$(command -v sshd || true)
[ -n "$sshd_bin" ] || { echo "tmux-check: sshd is not installed (apt-get install openssh-server)" >&2; exit 2; }
[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || true
sd=$work/sshd
mkdir -p "$sd/home"
ssh-keygen -q -t ed25519 -N '' -f "$sd/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$sd/id"
cp "$sd/id.pub" "$sd/authorized_keys"
chmod 600 "$sd/authorized_keys"
fp=$(ssh-keygen -lf "$sd/host_key.pub" | awk '{print $2}')
user=$(id -un)
sshd_pid=
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	cat >"$sd/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $sd/host_key
PidFile $sd/sshd.pid
AuthorizedKeysFile $sd/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
SetEnv HOME=$sd/home
CONF
	"$sshd_bin" -D -e -f "$sd/sshd_config" 2>"$sd/log" &
	sshd_pid=$!
	for _ in $(seq 1 50); do grep -q "Server listening" "$sd/log" && break; sleep 0.1; done
	grep -q "Server listening" "$sd/log" && break
	kill "$sshd_pid" 2>/dev/null || true
	wait "$sshd_pid" 2>/dev/null || true
	sshd_pid=
done
[ -n "$sshd_pid" ] || { cat "$sd/log" >&2; fail "sshd did not start"; }
trap 'kill "$sshd_pid" 2>/dev/null || true; cleanup' EXIT
: >"$sd/empty_config"
first_contact() { # first_contact KNOWN_HOSTS
	start 120 35 run testdata/tmux/first-contact.yaml --target "web=$user@127.0.0.1:$port" \
		-i "$sd/id" -F "$sd/empty_config" --known-hosts "$1" --bundle "$(mktemp -d -p "$work")"
}
mkdir -p "$work/bundles"

echo "7a. accept: the key is remembered and the walk ends resolved"
first_contact "$sd/kh_accept"
wait_for "Trust this host key?"
wait_for "$fp"
keys y
wait_for "Ready to run on"
keys Enter
wait_for "enter follows it"
keys Enter
wait_for "Outcome: RESOLVED"
keys q
wait_for "first-contact: resolved"
wait_for "EXIT=0"
grep -q ssh-ed25519 "$sd/kh_accept" || fail "the accepted key is not in known_hosts"

echo "7b. reject: nothing is trusted and the session ends cleanly"
first_contact "$sd/kh_reject"
wait_for "Trust this host key?"
keys n
wait_for "Ready to run on"
keys Enter
wait_for "Trust this host key?"
keys n
wait_for "host key"
keys q
wait_for "Quit this session?"
keys y
wait_for "first-contact: aborted"
wait_for "EXIT=5"
[ ! -s "$sd/kh_reject" ] || fail "a refused key was written to known_hosts"

echo "7c. ctrl+c at the fingerprint question: the next press says what it does; twice ends within 3 s"
first_contact "$sd/kh_ctrlc"
wait_for "Trust this host key?"
keys C-c
wait_for "ctrl+c again interrupts"
keys C-c
wait_within 30 "EXIT=130"
wait_for "resume with: runbook resume"

echo "7d. a passphrase-protected key and no agent: the passphrase is asked in the TUI, masked"
ssh-keygen -q -t ed25519 -N 'correct horse' -f "$sd/id_pass"
cat "$sd/id_pass.pub" >>"$sd/authorized_keys"
start 120 35 run testdata/tmux/first-contact.yaml --target "web=$user@127.0.0.1:$port" \
	-i "$sd/id_pass" -F "$sd/empty_config" --known-hosts "$sd/kh_accept" --bundle "$(mktemp -d -p "$work")"
wait_for "Passphrase for $sd/id_pass"
keys -l "correct horse"
screen | grep -qF "correct horse" && fail "the passphrase is shown on screen"
keys Enter
wait_for "Ready to run on"
keys Enter
wait_for "enter follows it"
keys Enter
wait_for "Outcome: RESOLVED"
keys q
wait_for "EXIT=0"
# widest: the longest line on screen (in cells) must not pass the width.
# (characters, not bytes: perl reads UTF-8; the checked screens have no wide runes)
cols() { perl -CS -ne 'chomp; $m = length if length > $m; END { print $m + 0 }'; }
widest() { screen | cols; }

# enter_until TEXT: press enter at each run/decided prompt until TEXT shows
# (at most 20 s; a key pressed while a command runs is not lost this way).
enter_until() {
	for _ in $(seq 1 100); do
		screen | grep -qF -- "$1" && return 0
		if screen | grep -qE "enter runs it|enter follows it"; then
			keys Enter
		fi
		sleep 0.2
	done
	fail "the screen never showed: $1"
}

demo() { # demo W H RUNBOOK SCENARIO [FLAGS...]
	local w=$1 h=$2 rb=$3 sc=$4
	shift 4
	start "$w" "$h" demo "$rb" --scenario "$sc" "$@"
}

for size in "200 50" "80 24"; do
	set -- $size
	W=$1 H=$2
	echo "8. ${W}x${H} ecss10-cluster-split (group, collect, look back): questions whole, every host labelled, the collect plan and its result table"
	demo "$W" "$H" ecss10-cluster-split data-split-persists
	wait_for "Are the split alarms present? · ask"
	wait_for "demo · scenario data-split-persists · simulated hosts"   # a demo says so
	wait_for "1 yes  → Решение"          # each choice says where it leads
	wait_for "Решение"                   # refs stay whole in the outline
	keys y
	wait_for "Ready to run on {ecss1,ecss2}."
	keys Enter
	wait_for "else →"   # the facts before it list the rows capture, so the line wraps at 80
	screen | grep -qE "│ ecss1 │ |│ ecss2 │ " || fail "group output lines carry no host"
	! screen | grep -qE '^[^│]*│ :node/nodes-info' || fail "a host's output line has no host label"
	keys Enter
	# The per-host section: each server's units, then each server's question.
	wait_for "per-host · for 2 hosts: ecss1, ecss2 · p shows the paths"
	wait_for "Ready to run on {ecss1,ecss2}."
	keys Enter
	wait_for "units=[6 rows]: next → Keep or restart"   # a table capture is counted, not printed as Go maps
	keys Enter
	wait_for "Keep or restart this server? · ask"
	wait_for "ecss1: Split in its table: ds1@ecss1"   # one paragraph per server, each its own rows
	wait_for "ecss2: Split in its table: ds1@ecss1"
	! screen | grep -qF '\n' || fail "the question shows a literal \\n"
	wait_for "1 keep  → Make sure the split is gone"
	[ "$W" -lt 200 ] || wait_for "3 all  → Restart all ECSS subsystems on this server"
	keys 1 # keep on both: nothing restarts, the table is read once, then collect
	enter_until "collects from ecss1:"
	wait_for "output of  systemctl status"
	wait_for "Ready to collect from {ecss1,ecss2}."
	screen | tail -n 1 | grep -qF "e edit" && fail "e edit offered on a collect step"
	keys Enter
	wait_for "host   status"
	wait_for "ecss2  collected"
	[ "$W" -lt 200 ] || wait_for "── 6 collected"
	wait_for "→ collected 0 files (0 B), 6 command outputs"
	keys v
	wait_for "Look back at which visit? (read-only)"
	keys 4 # newest first: 5 collect, 4 verify-split, 3 units, 2 nodes-info
	wait_for "Visit 2 of 5"
	wait_for "by auto: →"
	wait_for "rows=[10 rows]"   # the table capture, counted
	[ "$W" -lt 200 ] || wait_for "Erlang"   # and its rows, where the width shows them
	keys /
	keys -l "mnesia"
	keys Enter
	wait_for "/mnesia"
	esc
	wait_for "→ collected 0 files (0 B), 6 command outputs"   # back where the walk was
	keys g
	wait_for "The whole procedure"
	[ "$(widest)" -le "$W" ] || fail "a line is wider than $W"
	esc
	keys Enter
	wait_for "Outcome: ESCALATED"
	keys q
	wait_for "EXIT=3"

	echo "9. ${W}x${H} mrs-alm-45641 (wait): elapsed, polls and time left move; a held wait is a ✓"
	demo "$W" "$H" mrs-alm-45641 network-fault --speed 4
	wait_for "Ready to run on fi-node-01."
	enter_until "1 yes  → 5 Rectify the network fault"
	keys y
	wait_for "Do this yourself, then press d"
	keys d
	wait_for "Is the alarm cleared from the alarm list? · wait"
	keys Enter
	wait_for "1 poll done"
	# Between two polls the time left still falls, frame by frame.
	# A capture can catch a frame half drawn under load: a value counts only
	# when two captures in a row agree.
	left1() { screen | grep -F "1 poll done" | grep -oE '[0-9]+s left' | head -n 1 | sed 's/s left//'; }
	left() { local x y; x=$(left1 || true); y=$(left1 || true); [ "$x" = "$y" ] && echo "$x"; }
	a=$(left || true)
	fell=
	for _ in $(seq 1 20); do
		sleep 0.2
		b=$(left || true)
		[ -z "$a" ] && { a=$b; continue; }
		[ -n "$b" ] && [ "$b" -lt "$a" ] && { fell=1; break; }
	done
	[ -n "$fell" ] || fail "time left did not fall between polls (${a}s, then ${b}s)"
	wait_for "→ satisfied after"
	keys Enter
	wait_for "Outcome: RESOLVED"
	wait_for "✓ (5) Is the alarm cleared from the alarm list?"
	keys '?'
	wait_for "✓ passed"
	esc
	keys q
	wait_for "EXIT=0"

	echo "11. ${W}x${H} fsr-split-brain (group): the palette, explain (y copies through OSC 52), then the session replayed read-only"
	demo "$W" "$H" fsr-split-brain healthy
	st=$work/state$n
	wait_for "Ready to run on {node2,node3}."
	keys :
	wait_for "Command palette"
	wait_for "enter   run"
	keys -l "edit"
	wait_for "▸ e       edit"
	keys Enter
	wait_for "Edit the command (recorded as edited)"
	esc
	wait_gone "Edit the command"
	keys Enter
	wait_for "enter follows it"
	keys x
	wait_for "Why visit 1"
	wait_for "tested, in order:"
	wait_for "✗ false  any(results, {let r = #; any(r.sb"
	wait_for "no branch held: else"
	[ "$(widest)" -le "$W" ] || fail "the explain view is wider than $W"
	tmux delete-buffer 2>/dev/null || true
	keys y
	wait_for "copied"
	buf=$(tmux show-buffer 2>/dev/null || true)
	case "$buf" in *"Why visit 1 (Detect Did FSR log a split-brain since the last successful connect?) went where it went"*"no branch held: else"*) ;;
	*) fail "y did not copy the explanation (tmux buffer: $buf)" ;; esac
	case "$buf" in *$'\e'*) fail "the copied explanation holds escape codes" ;; esac
	esc
	wait_for "enter follows it"
	keys :
	wait_for "Command palette"
	keys -l "overr"
	wait_for "▸ o       override"
	keys Enter
	wait_for "Override: go to which step instead?"
	esc
	wait_gone "Override: go to which step"
	enter_until "Outcome: RESOLVED"
	keys q
	wait_for "EXIT=0"
	id=$(XDG_STATE_HOME=$st "$bin" sessions -o json | grep -o '"id": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
	[ -n "$id" ] || fail "no journaled session to replay"
	journal=$(ls "$st"/runbook/sessions/*.jsonl)
	before=$(cksum <"$journal")
	start_in "$st" "$W" "$H" sessions show "$id"
	wait_for "Replay of session $id"
	wait_for "nothing runs"
	wait_for "Outcome: RESOLVED"
	wait_for "replay · demo · scenario healthy · simulated hosts"
	keys v
	wait_for "Look back at which visit? (read-only)"
	keys 7 # newest first: visit 1 is the seventh
	wait_for "Visit 1 of 7"
	wait_for "replayed from the journal"
	keys x
	wait_for "Why visit 1"
	wait_for "no branch held: else"
	esc
	esc
	keys Enter r N
	wait_for "Outcome: RESOLVED"
	screen | grep -qF "Note for this step" && fail "a replay takes notes"
	keys q
	wait_for "EXIT=0"
	[ "$(cksum <"$journal")" = "$before" ] || fail "the replay wrote to the journal"
	[ "$(ls "$st"/runbook/sessions/ | wc -l)" -eq 1 ] || fail "the replay started a session"
	summary=$(XDG_STATE_HOME=$st "$bin" sessions show "$id" | cat) # not grep -q: it would cut the pipe
	case "$summary" in *"outcome  resolved"*) ;; *) fail "sessions show | cat prints no summary: $summary" ;; esac
done

echo "10. the mrs-alm-45641 tree: siblings at one depth; runbook graph within 100 columns, the TUI tree within its pane, nothing cut"
for rb in runbooks/*.yaml; do
	[ "$("$bin" graph "$rb" | cols)" -le 100 ] || fail "runbook graph $rb is wider than 100 columns"
done
demo 80 24 mrs-alm-45641 backup-full
wait_for "Ready to run on fi-node-01."
keys g
wait_for "The whole procedure"
wait_for "├ [else] not-root (aborted) [end]"
wait_for "↓ [exit == 0 && trim(stdout) =="
[ "$(widest)" -le 80 ] || fail "the tree is wider than the terminal"
! screen | sed -n '2,22p' | sed 's/^[^│]*│ //' | grep -qF "…" || fail "the tree cuts a line"
esc
keys q
wait_for "Quit this session?"
keys y
wait_for "EXIT=5"

echo "tmux-check: all checks passed"
