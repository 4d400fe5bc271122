// Package runbooks embeds the shipped runbooks and their simulated-host
// scenarios, so the binary works with no files beside it.
package runbooks

import "embed"

// FS holds the shipped runbooks (*.yaml) and scenarios (scenarios/<runbook-id>/*.yaml).
//
//go:embed *.yaml scenarios
var FS embed.FS
