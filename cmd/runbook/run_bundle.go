package main

import "github.com/spf13/pflag"

// bundleOptions are the bundle flags of `runbook run`.
type bundleOptions struct{}

func addBundleFlags(f *pflag.FlagSet, o *bundleOptions) {}
