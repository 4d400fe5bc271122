// Package ui is the operator TUI: Bubble Tea v2 driving an engine.Session in
// step mode, so the on-call engineer sees and approves every probe, decision,
// fix and manual action.
//
// Structure (see docs/ARCHITECTURE.md): one root Model owns the terminal and
// an explicit state (loading, running, asking, error, done); leaf components
// live in their own packages (outline, steppane, output, choices, input,
// statusbar, collect, visit) with Update/View/SetSize; one keymap.KeyMap and
// one styles.Styles.
//
// Update never does I/O and never blocks. Everything that touches the session
// runs in a tea.Cmd (act): the action (Proceed, Answer, Override, ...) and
// then Advance, which may run probes on hosts for a long time. Only one such
// command runs at a time, because a Session is not safe for concurrent use;
// the model reads the session only while none runs. Session events arrive
// through Options.OnEvent into a queue (pump) that a re-armed wait command
// drains in batches every ~40 ms; every event carries the id of the run that
// produced it, so output of a cancelled run is dropped.
//
// Each visit's output is kept when the next step starts (lookback.go), so
// any visited step opens read-only (v) without touching the session.
//
// Every string that came from a host or a runbook passes untrusted.Sanitize
// before it is drawn.
package ui
