package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adrg/xdg"
)

// A declared secret that a real probe prints in two writes (a pause between
// them, so the pipe delivers two chunks; octal escapes keep the pieces out
// of the command text itself) reaches neither the journal, nor
// `--output jsonl`, nor the bundle's transcript, in whole or in part (issue
// 13: `key=TOPSECRE` + `TTOKEN99` leaked).
func TestSecretSplitAcrossChunksEverySurface(t *testing.T) {
	isolateState(t)
	dir := t.TempDir()
	rb := `runbook: 1
id: split
title: Split secret
targets:
  host: {description: the machine}
params:
  key: {type: string, description: a token, secret: true}
steps:
  - id: probe
    run: {on: host, cmd: "printf 'key=TOP\\123ECRE'; sleep 0.3; printf 'TT\\117KEN99 done\\n'"}
    next: done
  - id: done
    end: resolved
`
	file := filepath.Join(dir, "split.yaml")
	if err := os.WriteFile(file, []byte(rb), 0o644); err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, "bundles")
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	code := mainRun([]string{"run", file, "--target", "host=local", "--auto", "--output", "jsonl", "--param", "key=TOPSECRETTOKEN99", "--bundle", bdir},
		strings.NewReader(""), &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "key=****** done") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	surfaces := map[string]string{"jsonl": stdout.String(), "stderr": stderr.String()}
	journals, _ := filepath.Glob(filepath.Join(xdg.StateHome, "runbook", "sessions", "*.jsonl"))
	if len(journals) != 1 {
		t.Fatalf("journals: %v", journals)
	}
	j, _ := os.ReadFile(journals[0])
	surfaces["journal"] = string(j)
	bundles, _ := filepath.Glob(filepath.Join(bdir, "*.tar.gz"))
	if len(bundles) != 1 {
		t.Fatalf("bundles: %v", bundles)
	}
	f, err := os.Open(bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		surfaces["bundle "+h.Name] = string(b)
	}
	if _, ok := surfaces["bundle transcript.jsonl"]; !ok {
		t.Fatal("no transcript in the bundle")
	}
	for name, text := range surfaces {
		for _, part := range []string{"TOPSECRE", "TTOKEN99", "SECRETTOKEN"} {
			if strings.Contains(text, part) {
				t.Errorf("%s holds %q", name, part)
			}
		}
	}
}
