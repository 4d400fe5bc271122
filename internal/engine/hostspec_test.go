package engine_test

import (
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestHostSpecForms: Host.Address/User and ParseHostSpec (the transport's
// parser) agree on every form a target may take.
func TestHostSpecForms(t *testing.T) {
	for _, c := range []struct {
		in, user, host string
		port           int
		bad            bool
	}{
		{in: "web-1", host: "web-1"},
		{in: "root@10.0.0.5", user: "root", host: "10.0.0.5"},
		{in: "web:2222", host: "web", port: 2222},
		{in: "root@10.0.0.5:2222", user: "root", host: "10.0.0.5", port: 2222},
		{in: "[::1]:22", host: "::1", port: 22},
		{in: "[::1]", host: "::1"},
		{in: "::1", host: "::1"},
		{in: "ops@[fe80::1]:2200", user: "ops", host: "fe80::1", port: 2200},
		{in: "ssh://root@web:22", user: "root", host: "web", port: 22},
		{in: "ssh://web", host: "web"},
		{in: "ssh://user@host:2200", user: "user", host: "host", port: 2200},
		{in: "ssh://ops@[::1]:2222", user: "ops", host: "::1", port: 2222},
		{in: "a@b@c", user: "a@b", host: "c"},
		{in: "-oProxyCommand=x", bad: true},
		{in: "-l@host", bad: true},
		{in: "host:99999", bad: true},
		{in: "host:x", bad: true},
		{in: "a@", bad: true},
		{in: "[::1", bad: true},
		{in: "a b", bad: true},
	} {
		hs, err := engine.ParseHostSpec(c.in)
		if (err != nil) != c.bad || (err == nil && (hs.User != c.user || hs.Host != c.host || hs.Port != c.port)) {
			t.Errorf("ParseHostSpec(%q) = %+v, %v", c.in, hs, err)
			continue
		}
		if c.bad {
			continue
		}
		h := engine.Host{Name: c.in}
		if h.Address() != c.host || h.User() != c.user {
			t.Errorf("Host{%q}: Address %q User %q, want %q %q", c.in, h.Address(), h.User(), c.host, c.user)
		}
	}
}
