package schema_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/schema"
)

const modeline = "# yaml-language-server: $schema=../schema/runbook.schema.json"

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(schema.ID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schema.ID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// instance converts a YAML runbook to the JSON value the schema sees.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("yaml to json: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatalf("unmarshal json: %v", err)
	}
	return v
}

// TestSchemaAcceptsEveryValidRunbook: shipped runbooks (more arrive all the
// time: the glob picks them up), the valid corpus and the walk runbooks.
func TestSchemaAcceptsEveryValidRunbook(t *testing.T) {
	sch := compile(t)
	var files []string
	for _, pat := range []string{"../runbooks/*.yaml", "../examples/*.yaml", "../examples/lib/*.yaml", "../testdata/valid/*.yaml", "../testdata/walks/*/runbook.yaml", "../internal/engine/testdata/call/*.yaml", "../internal/engine/testdata/wait/*.yaml"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d runbooks", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(instance(t, data)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestShippedRunbooksNameTheSchema: editors find the schema through the
// first line of every shipped runbook.
func TestShippedRunbooksNameTheSchema(t *testing.T) {
	files, _ := filepath.Glob("../runbooks/*.yaml")
	if len(files) == 0 {
		t.Fatal("no shipped runbooks")
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Scan()
		if got := sc.Text(); got != modeline {
			t.Errorf("%s: first line is %q, want %q", f, got, modeline)
		}
		fh.Close()
	}
}

// TestSchemaRejectsStructuralMistakes: the testdata/invalid cases that are
// about shape (not graphs or expressions) are rejected by the schema too,
// so an editor flags them as the author types.
func TestSchemaRejectsStructuralMistakes(t *testing.T) {
	sch := compile(t)
	for _, name := range []string{
		"unknown-key-typo", "unknown-top-key", "unknown-run-key", "wrong-type-title", "wrong-type-steps", "wrong-type-timeout",
		"missing-id", "missing-title", "missing-steps", "two-kinds", "no-kind", "bad-outcome", "bad-param-type",
		"wait-without-timeout", "collect-files-and-cmd", "key-wrong-kind", "bad-version", "id-not-kebab",
		"enum-without-values", "capture-shadows-builtin", "capture-without-group", "collect-relative-glob",
	} {
		data, err := os.ReadFile("../testdata/invalid/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(instance(t, data)); err == nil {
			t.Errorf("%s: schema accepts it", name)
		}
	}
}

// TestSchemaRejectsAMisspeltKey names the key in the error, for the editor.
func TestSchemaRejectsAMisspeltKey(t *testing.T) {
	sch := compile(t)
	src := strings.Join([]string{
		"runbook: 1", "id: typo", "title: t", "steps:",
		"  - id: done", "    end: resolved", "    mesage: bye",
	}, "\n")
	err := sch.Validate(instance(t, []byte(src)))
	if err == nil {
		t.Fatal("schema accepts `mesage`")
	}
	if !strings.Contains(err.Error(), "mesage") {
		t.Errorf("error does not name the key: %v", err)
	}
	ok := strings.Replace(src, "mesage", "message", 1)
	if err := sch.Validate(instance(t, []byte(ok))); err != nil {
		t.Errorf("the corrected runbook is rejected: %v", err)
	}
}

// TestSchemaCoversEveryKey: each part of the schema names exactly the keys
// the loader accepts there, so a key added to the format cannot be missing
// from the schema editors use (or linger there after it is gone).
func TestSchemaCoversEveryKey(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schema.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path ...string) map[string]any {
		var cur any = doc
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
	where := map[string][]string{
		"runbook":  {"properties"},
		"target":   {"properties", "targets", "additionalProperties", "properties"},
		"param":    {"$defs", "param", "properties"},
		"redact":   {"properties", "redact", "items", "properties"},
		"step":     {"$defs", "step", "properties"},
		"run":      {"$defs", "run", "properties"},
		"fix":      {"$defs", "fix", "properties"},
		"wait":     {"$defs", "wait", "properties"},
		"collect":  {"$defs", "collectItem", "properties"},
		"branch":   {"$defs", "step", "properties", "branches", "items", "properties"},
		"per_host": {"$defs", "perHost", "properties"},
		"rollout":  {"$defs", "rollout", "properties"},
		"call":     {"$defs", "call", "properties"},
		"alert":    {"properties", "alert", "properties"},
		"capture":  {"$defs", "step", "properties", "capture", "additionalProperties", "oneOf", "1", "properties"},
		"table":    {"$defs", "step", "properties", "capture", "additionalProperties", "oneOf", "1", "properties", "table", "oneOf", "1", "properties"},
	}
	for part, keys := range engine.FormatKeys() {
		path, ok := where[part]
		if !ok {
			t.Errorf("format part %q: the test does not know where the schema describes it", part)
			continue
		}
		props := get(path...)
		var got []string
		for k := range props {
			got = append(got, k)
		}
		want := append([]string{}, keys...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s: keys %v, the loader accepts %v", strings.Join(path, "/"), got, want)
		}
	}
}
