package main

import "github.com/spf13/pflag"

// uiOptions are the interactive parts of `runbook run`.
type uiOptions struct {
	scrollback int
}

func addUIFlags(f *pflag.FlagSet, o *uiOptions) {
	f.IntVar(&o.scrollback, "scrollback", 10000, "output lines kept viewable in the TUI (the transcript keeps all)")
}
