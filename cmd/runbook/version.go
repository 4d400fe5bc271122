package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// versionString is what `runbook version` and --version print: the
// version set at build time (-ldflags "-X main.version=v1.2.3"), else the
// module's from the build info (a tagged `go install`), then the commit
// and time the binary was built from (when built in a git checkout, "+dirty"
// when it had uncommitted changes) and the Go release.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	return formatVersion(version, bi, ok)
}

func formatVersion(v string, bi *debug.BuildInfo, ok bool) string {
	goVersion := runtime.Version()
	var rev, when string
	dirty := false
	if ok && bi != nil {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	parts := []string{v}
	if rev != "" {
		c := "commit " + rev[:min(len(rev), 12)]
		if dirty {
			c += "+dirty"
		}
		if when != "" {
			c += " (" + when + ")"
		}
		parts = append(parts, c)
	}
	parts = append(parts, goVersion)
	return strings.Join(parts, " · ")
}
