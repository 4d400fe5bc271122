package scenario

import (
	"strings"
	"testing"
)

// A tagged sequence value made goccy/go-yaml's decoder panic (nil
// ArrayNodeIter; found by FuzzLoad, testdata/fuzz/FuzzLoad/52d707dab7001215):
// Load says the file cannot be read, it does not crash runbook.
func TestLoadSurvivesDecoderPanic(t *testing.T) {
	_, err := Load("bad.yaml", []byte("hosts:\n 0: \n  commands: \n      !!000000000000000 00"))
	if err == nil || !strings.Contains(err.Error(), "scenario bad.yaml:") {
		t.Fatalf("got %v", err)
	}
}
