package engine_test

import (
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestRawBlocksReachTheHostUnchanged: the Go-template and JSON arguments of
// real Docker, Kubernetes and OpenShift procedures pass through a command
// template as written, while interpolations next to them are still quoted.
func TestRawBlocksReachTheHostUnchanged(t *testing.T) {
	env := engine.Env{"params": map[string]any{"container": "etcd 1", "node": "master-0"}}
	cases := []struct{ src, want string }{
		{`docker inspect -f '{{raw}}{{.State.Health.Status}}{{/raw}}' {{ params.container }}`,
			`docker inspect -f '{{.State.Health.Status}}' 'etcd 1'`},
		{`kubectl get pods -o go-template='{{raw}}{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}{{/raw}}'`,
			`kubectl get pods -o go-template='{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}'`},
		{`oc patch node {{ params.node }} --type merge -p '{{raw}}{"spec": {"unschedulable": true}}{{/raw}}'`,
			`oc patch node master-0 --type merge -p '{"spec": {"unschedulable": true}}'`},
		{`echo {{raw}}{{/raw}}done`, `echo done`},
	}
	for _, c := range cases {
		tm, err := engine.ParseTemplate(c.src, env)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got, err := tm.Render(env)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got != c.want {
			t.Errorf("render %s\n got %s\nwant %s", c.src, got, c.want)
		}
	}
	for _, bad := range []string{`a {{raw}} b`, `a {{/raw}}`, `'{"a": {"b": 1}}'`} {
		if _, err := engine.ParseTemplate(bad, env); err == nil {
			t.Errorf("%s: parsed, want an error", bad)
		}
	}
}
