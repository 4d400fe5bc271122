package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/runbook-dev/runbook", Version: "v0.4.1"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3c0c02e1f2a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8"}, {Key: "vcs.time", Value: "2026-12-01T22:10:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, c := range []struct {
		v    string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"dev", bi, true, "v0.4.1 · commit 3c0c02e1f2a4+dirty (2026-12-01T22:10:00Z) · go1.26.8"},
		{"v1.0.0", bi, true, "v1.0.0 · commit 3c0c02e1f2a4+dirty (2026-12-01T22:10:00Z) · go1.26.8"}, // -ldflags wins
		{"dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true, "dev · go1.26.8"},
	} {
		if got := formatVersion(c.v, c.bi, c.ok); got != c.want {
			t.Errorf("formatVersion(%q) = %q, want %q", c.v, got, c.want)
		}
	}
}
