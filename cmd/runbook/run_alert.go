package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/internal/alert"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// bindAlert reads --alert and adds what it binds to the --param and
// --target flags, which win over it. A payload that lacks a declared field
// is a usage error (exit 2) naming the field.
func (o *runOptions) bindAlert(rb *engine.Runbook) error {
	var data []byte
	var err error
	if o.alert == "-" {
		data, err = io.ReadAll(io.LimitReader(o.stdin, 4<<20+1))
	} else {
		data, err = os.ReadFile(o.alert)
	}
	if err != nil {
		return usageErr("--alert: %v", err)
	}
	b, err := alert.Bind(rb, data)
	if err != nil {
		var ae *alert.Error
		if errors.As(err, &ae) {
			return usageErr("--alert %s: %v", o.alert, err)
		}
		return usageErr("--alert: %v", err)
	}
	given := map[string]bool{}
	for _, kv := range o.params {
		k, _, _ := strings.Cut(kv, "=")
		given["p:"+k] = true
	}
	for _, kv := range o.targets {
		k, _, _ := strings.Cut(kv, "=")
		given["t:"+k] = true
	}
	var names []string
	for _, k := range sortedKeys(b.Params) {
		if !given["p:"+k] {
			o.params = append(o.params, k+"="+b.Params[k])
			names = append(names, "param "+k)
		}
	}
	for _, k := range sortedKeys(b.Targets) {
		if !given["t:"+k] {
			o.targets = append(o.targets, k+"="+b.Targets[k])
			names = append(names, "target "+k+"="+b.Targets[k])
		}
	}
	if b.Note != "" {
		fmt.Fprintln(o.stderr, "runbook: --alert:", untrusted.SanitizeLine(b.Note))
	}
	fmt.Fprintf(o.stderr, "runbook: --alert (%s) binds %s\n", b.Source, untrusted.SanitizeLine(strings.Join(names, ", ")))
	return nil
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
