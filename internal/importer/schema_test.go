package importer

import (
	"bytes"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runbook-dev/runbook/schema"
)

// TestImportedRunbooksMatchTheSchema: what an editor with the schema sees
// in an imported file is as clean as what lint says.
func TestImportedRunbooksMatchTheSchema(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schema.ID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schema.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"000", "001", "002", "003", "004"} {
		name, src := seed(t, p)
		r, err := Import(name, src)
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(r.YAML)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("seed %s: %v", p, err)
		}
	}
}
