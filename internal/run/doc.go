// Package run owns the lifecycle of one walk through a runbook, for every
// command that walks one (`runbook run`, `demo`, `resume`). They differ only
// in the [Options] they build; Run does the rest in one explicit order:
//
//	prompt bridge (with the run's context)
//	→ transport (built, nothing dialled)
//	→ journal (created, or appended to on resume)
//	→ bundle (opened, nothing dialled)
//	→ pre-steps (the bundle's clock-skew probe: dials, so it runs only once
//	  the prompt bridge has a reader: inside the TUI, or unattended where no
//	  prompt can be asked)
//	→ session → driver (the TUI or internal/auto)
//	→ finalise (bundle, journal, transport), once, whatever happened: an
//	  error, Ctrl-C, SIGTERM/SIGHUP (the context), or a panic.
//
// Nothing here parses flags; cmd/runbook does that.
package run
