// Package journal keeps an append-only, fsync'd record of every session, so
// a session survives its process: `runbook sessions` lists the journals and
// `runbook resume` rebuilds the session from one (engine.Restore).
//
// A journal is a JSON Lines file, $XDG_STATE_HOME/runbook/sessions/<id>.jsonl.
// The first line is a Header (type "journal.header") with what resuming
// needs besides the events: the runbook source as it ran, targets, params
// (secrets left out) and start-at captures. Every further line is one
// engine.Event, plus the driver's own "session.stop" line when an
// unattended run stops without an end (needs a human, failure, interrupt).
//
// Durability: each line is written with a single write(2), so a process
// killed with SIGKILL leaves at most one torn last line, which Read skips.
// Lines that record a decision, an answer, a confirmation or a result are
// followed by fsync, so they also survive a power cut. While a process
// writes a journal it holds an flock on it; the kernel drops the lock when
// the process dies, which is how List tells "running" from "interrupted".
package journal
