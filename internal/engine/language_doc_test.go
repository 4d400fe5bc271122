package engine_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// schemaParts says where the schema describes each part of the format.
var schemaParts = []struct {
	part, title string
	path        []string
}{
	{"runbook", "top level", []string{"properties"}},
	{"target", "a target", []string{"properties", "targets", "additionalProperties", "properties"}},
	{"param", "a param (and a fix's `input`)", []string{"$defs", "param", "properties"}},
	{"step", "a step", []string{"$defs", "step", "properties"}},
	{"branch", "a branch", []string{"$defs", "step", "properties", "branches", "items", "properties"}},
	{"capture", "a capture (mapping form)", []string{"$defs", "step", "properties", "capture", "additionalProperties", "oneOf", "1", "properties"}},
	{"table", "a table capture", []string{"$defs", "step", "properties", "capture", "additionalProperties", "oneOf", "1", "properties", "table", "oneOf", "1", "properties"}},
	{"run", "`run` (and `wait.run`)", []string{"$defs", "run", "properties"}},
	{"fix", "`fix`", []string{"$defs", "fix", "properties"}},
	{"wait", "`wait`", []string{"$defs", "wait", "properties"}},
	{"collect", "a `collect` item", []string{"$defs", "collectItem", "properties"}},
	{"call", "`call`", []string{"$defs", "call", "properties"}},
	{"alert", "`alert`", []string{"properties", "alert", "properties"}},
	{"redact", "a `redact` rule", []string{"properties", "redact", "items", "properties"}},
	{"per_host", "`per_host`", []string{"$defs", "perHost", "properties"}},
	{"rollout", "`rollout`", []string{"$defs", "rollout", "properties"}},
}

func keyReference(t *testing.T) string {
	data, err := os.ReadFile("../../schema/runbook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path []string) map[string]any {
		cur := doc
		for _, p := range path {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[p]
			case []any:
				i, _ := strconv.Atoi(p)
				if i >= len(c) {
					return nil
				}
				cur = c[i]
			}
		}
		m, _ := cur.(map[string]any)
		return m
	}
	keys := engine.FormatKeys()
	if len(keys) != len(schemaParts) {
		t.Errorf("FormatKeys has %d parts, the key reference %d: add the new part to schemaParts", len(keys), len(schemaParts))
	}
	var b strings.Builder
	for _, sp := range schemaParts {
		props := get(sp.path)
		fmt.Fprintf(&b, "### Keys of %s\n\n| key | meaning |\n|---|---|\n", sp.title)
		for _, k := range keys[sp.part] {
			desc := ""
			if p, ok := props[k].(map[string]any); ok {
				desc, _ = p["description"].(string)
				if ref, _ := p["$ref"].(string); desc == "" && strings.HasPrefix(ref, "#/") {
					if def := get(strings.Split(ref[2:], "/")[:1]); def != nil {
						if d, ok := def[strings.Split(ref[2:], "/")[1]].(map[string]any); ok {
							desc, _ = d["description"].(string)
						}
					}
				}
			}
			if desc == "" {
				t.Errorf("schema: %s key %q has no description", sp.part, k)
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", k, strings.ReplaceAll(strings.ReplaceAll(desc, "|", `\|`), "\n", " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestLanguageDoc: docs/language.md's helper and key tables are exactly what
// the code registers (-update rewrites them).
func TestLanguageDoc(t *testing.T) {
	const file = "../../docs/language.md"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	replace := func(doc, name, body string) string {
		begin := strings.Index(doc, "<!-- "+name+":begin")
		end := strings.Index(doc, "<!-- "+name+":end -->")
		if begin < 0 || end < begin {
			t.Fatalf("%s: no <!-- %s:begin --> ... <!-- %s:end --> section", file, name, name)
		}
		nl := strings.Index(doc[begin:], "\n") + begin + 1
		return doc[:nl] + "\n" + body + "\n" + doc[end:]
	}
	want := replace(doc, "helpers", engine.HelperReference())
	want = replace(want, "keys", keyReference(t))
	if *update {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != doc {
		t.Errorf("%s is stale: run go test ./internal/engine -run TestLanguageDoc -update", file)
	}
}
