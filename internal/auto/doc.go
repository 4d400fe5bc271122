// Package auto is the unattended driver (`runbook run --auto`): it walks an
// engine.Session with nobody at the keyboard. Asks are answered by --answer,
// an answers file, or the step's declared `auto` policy; fixes run only when
// allowed (--allow-fix, and --allow-destructive for destructive ones);
// manual steps stop unless assumed done. Where a human is needed it stops
// and says where and why (Result.Stopped, exit 4) rather than guess.
//
// Progress for people is printed from session events (Progress), one line
// per step; the machine-readable account is the Result, printed as JSON by
// `--output json` and documented in docs/automation.md.
package auto
