package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/adrg/xdg"
	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/run"
)

// bundleOptions are the bundle flags of `runbook run`.
type bundleOptions struct {
	path         string
	noRedact     bool
	pseudonymise bool
	maxBytes     string
	maxFileBytes string
	noSkew       bool
}

func addBundleFlags(f *pflag.FlagSet, o *bundleOptions) {
	f.StringVar(&o.path, "bundle", "", "write a log bundle (tar.gz + .sha256) at the end, even on failure or Ctrl-C: a directory or a file name (interactive sessions always write one, by default under $XDG_STATE_HOME/runbook/bundles)")
	f.BoolVar(&o.noRedact, "no-redact", false, "do not mask secrets in the bundle (its name says UNREDACTED)")
	addPseudonymiseFlag(f, &o.pseudonymise)
	f.StringVar(&o.maxBytes, "bundle-max-bytes", "", "cap on all bytes stored in the bundle (e.g. 2GiB; default 4GiB)")
	f.StringVar(&o.maxFileBytes, "bundle-max-file-bytes", "", "per-file cap; larger text files keep their tail (default 256MiB)")
	f.BoolVar(&o.noSkew, "bundle-no-clock-skew", false, "do not run date(1) on remote hosts to record their clock skew")
}

func (bo bundleOptions) options() (run.BundleOptions, error) {
	out := run.BundleOptions{Path: bo.path, NoRedact: bo.noRedact, Pseudonymise: bo.pseudonymise, NoClockSkew: bo.noSkew, DefaultDir: defaultBundleDir}
	for _, s := range []struct {
		flag, val string
		dst       *int64
	}{{"--bundle-max-bytes", bo.maxBytes, &out.MaxBytes}, {"--bundle-max-file-bytes", bo.maxFileBytes, &out.MaxFileBytes}} {
		if s.val == "" {
			continue
		}
		n, err := engine.ParseSize(s.val)
		if err != nil || n <= 0 {
			return out, usageErr("%s %q: want a size such as 512MiB", s.flag, s.val)
		}
		*s.dst = n
	}
	return out, nil
}

func addPseudonymiseFlag(f *pflag.FlagSet, v *bool) {
	f.BoolVar(v, "pseudonymise", false, "replace IP addresses and host names in the bundle with stable stand-ins (like sos --clean); the map back is written beside it, mode 0600: keep it, do not send it")
}

// defaultBundleDir is where interactive sessions write their bundle when
// --bundle is not given: every session ends with one.
func defaultBundleDir() (string, error) {
	dir := filepath.Join(xdg.StateHome, "runbook", "bundles")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create bundle directory: %w", err)
	}
	return dir, nil
}
