// Package schema holds the JSON Schema of the runbook format
// (runbook.schema.json, draft 2020-12). Editors with yaml-language-server
// use it through the modeline each shipped runbook starts with:
//
//	# yaml-language-server: $schema=../schema/runbook.schema.json
//
// The schema helps authors as they type; `runbook lint` (engine.Check)
// remains the authority, since graphs, expressions and references are
// beyond what a schema can check.
package schema

import _ "embed"

// JSON is the schema document.
//
//go:embed runbook.schema.json
var JSON []byte

// ID is the schema's $id.
const ID = "https://github.com/runbook-dev/runbook/schema/runbook.schema.json"
