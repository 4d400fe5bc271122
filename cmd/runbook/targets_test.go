package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
)

func TestParseTargets(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	os.WriteFile(inv, []byte("[flinkservers]\nflink-a ansible_host=10.0.0.5 ansible_user=root\nflink-b ansible_host=10.0.0.6 ansible_port=2222\n\n[nodes]\necss[1:2]\n"), 0o600)
	rb, err := engine.Load("x.yaml", []byte(`runbook: 1
id: x
title: x
targets:
  nodes: {description: every node, group: true}
  active: {description: one}
steps:
  - {id: done, end: resolved}
`))
	if err != nil {
		t.Fatal(err)
	}
	names := func(m map[string][]engine.Host) map[string][]string {
		out := map[string][]string{}
		for role, hs := range m {
			for _, h := range hs {
				if h.Addr != "" {
					out[role] = append(out[role], h.Name+"="+h.Addr)
				} else {
					out[role] = append(out[role], h.Name)
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		flags []string
		invs  []string
		want  map[string][]string
		err   string
	}{
		{"comma list", []string{"nodes=h1,h2,h3"}, nil, map[string][]string{"nodes": {"h1", "h2", "h3"}}, ""},
		{"pattern", []string{"nodes=root@web[01:03]"}, nil, map[string][]string{"nodes": {"root@web01", "root@web02", "root@web03"}}, ""},
		{"repeated", []string{"nodes=a", "nodes=b"}, nil, map[string][]string{"nodes": {"a", "b"}}, ""},
		{"inventory group", []string{"active=@flinkservers"}, []string{inv}, map[string][]string{
			// Shown by their inventory names, dialled at ansible_host/port/user.
			"active": {"flink-a=root@10.0.0.5", "flink-b=10.0.0.6:2222"}, "nodes": {"ecss1", "ecss2"}}, ""},
		{"flag beats the same-named group", []string{"nodes=n9"}, []string{inv}, map[string][]string{"nodes": {"n9"}}, ""},
		{"group without inventory", []string{"nodes=@flinkservers"}, nil, nil, "needs --inventory"},
		{"unknown group", []string{"nodes=@web"}, []string{inv}, nil, `no group "web" (groups: all, flinkservers, nodes`},
		{"bad pattern", []string{"nodes=web[3:1]"}, nil, nil, "must count up"},
		{"no role", []string{"=h1"}, nil, nil, "want ROLE=HOST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTargets(tc.flags, tc.invs, rb)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(names(got), tc.want) {
				t.Fatalf("got %v, %v; want %v", names(got), err, tc.want)
			}
		})
	}
}

// An inventory host keeps where it is dialled across a resume: the journal
// header carries the address beside the name.
func TestJournaledTargetsKeepInventoryAddresses(t *testing.T) {
	j := &journaled{h: journal.Header{
		Targets: map[string][]string{"nodes": {"node04", "h2"}},
		Addrs:   map[string]string{"node04": "ops@10.0.0.4:2204"},
	}}
	got := j.targets()["nodes"]
	want := []engine.Host{{Role: "nodes", Name: "node04", Addr: "ops@10.0.0.4:2204"}, {Role: "nodes", Name: "h2"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
