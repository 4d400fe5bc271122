#!/bin/sh
# auto-example.sh: run a shipped runbook unattended, as an alert hook or a
# cron job would, and act on the result.
#
#   scripts/auto-example.sh [extra runbook flags...]
#   RUNBOOK=./runbook scripts/auto-example.sh --param mount=/var --param limit=85
#
# Needs jq. See docs/automation.md for the result schema and exit codes.
set -u

RUNBOOK=${RUNBOOK:-runbook}
result=$(mktemp)
trap 'rm -f "$result"' EXIT

# Progress lines go to stderr (kept for the log); the result is on stdout.
"$RUNBOOK" run local-disk-health --target host=local --auto --output json "$@" >"$result"
code=$?

# Exit 2 (usage, invalid runbook) prints no result: nothing ran.
if [ "$code" -eq 2 ] || ! jq -e .outcome "$result" >/dev/null 2>&1; then
	echo "runbook could not start (exit $code)" >&2
	exit 2
fi

outcome=$(jq -r .outcome "$result")
session=$(jq -r '.session // "-"' "$result")
# One line per visited step: "ref step: how the route was decided".
path=$(jq -r '.path[] | "  \(.ref // "-") \(.step): \(.decision.explain // .kind)"' "$result")

case "$outcome" in
resolved)
	echo "OK: $(jq -r .message "$result")"
	;;
escalated)
	# An escalation becomes a ticket with the path taken and the session id.
	echo "TICKET: $(jq -r .title "$result") escalated (session $session)"
	echo "$path"
	jq -r '.path[] | select(.step == "largest") | .results[0].stdout // empty' "$result"
	;;
needs-human)
	# Page someone with the exact step and question.
	jq -r '"PAGE: needs a human at \(.stopped.step): \(.stopped.question)\n  \(.stopped.reason)"' "$result"
	echo "  continue with: runbook resume $session"
	;;
interrupted)
	echo "INTERRUPTED: resume with: runbook resume $session"
	;;
*)
	echo "FAILED ($outcome):"
	jq -r '.errors[]? | "  " + .' "$result"
	;;
esac
# Hand the runbook's own exit code on, so the caller can branch on it too.
exit "$code"
