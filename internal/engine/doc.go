// Package engine is the heart of runbook: the runbook language (schema types,
// loading with source positions, lint), expressions and command templates, and
// the Session state machine that walks a runbook's decision tree.
//
// The engine is pure. It imports nothing that talks to a terminal, a network
// or a process: it declares the Executor interface it needs and the drivers
// (the TUI and the unattended driver) supply one. A test enforces this with
// `go list -deps`.
package engine
