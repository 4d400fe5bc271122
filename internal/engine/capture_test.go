package engine_test

import (
	"reflect"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestParseTableRealFormats reads tables as real tools print them.
func TestParseTableRealFormats(t *testing.T) {
	cases := []struct {
		name string
		text string
		spec *engine.Table
		want []map[string]any
	}{
		{"etcdctl member list -w table", `+------------------+---------+----------+------------------------+------------------------+------------+
|        ID        | STATUS  |   NAME   |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |
+------------------+---------+----------+------------------------+------------------------+------------+
| 91bc3c398fb3c146 | started | master-1 | https://10.0.0.11:2380 | https://10.0.0.11:2379 |      false |
| fd422379fda50e48 | started | master-2 | https://10.0.0.12:2380 | https://10.0.0.12:2379 |      false |
+------------------+---------+----------+------------------------+------------------------+------------+
`, nil, []map[string]any{
			{"ID": "91bc3c398fb3c146", "STATUS": "started", "NAME": "master-1", "PEER ADDRS": "https://10.0.0.11:2380", "CLIENT ADDRS": "https://10.0.0.11:2379", "IS LEARNER": "false"},
			{"ID": "fd422379fda50e48", "STATUS": "started", "NAME": "master-2", "PEER ADDRS": "https://10.0.0.12:2380", "CLIENT ADDRS": "https://10.0.0.12:2379", "IS LEARNER": "false"},
		}},
		{"box drawing with a wrapped cell", `┌──────┬──────────────┐
│ node │ partitions   │
├──────┼──────────────┤
│ sp1  │ core1,       │
│      │ core2        │
│ sp2  │ core1        │
└──────┴──────────────┘
`, nil, []map[string]any{
			{"node": "sp1", "partitions": "core1, core2"},
			{"node": "sp2", "partitions": "core1"},
		}},
		{"smartctl -A after its preamble, raw value with spaces", `smartctl 7.2 2020-12-30 r5155 [x86_64-linux-5.14.0] (local build)
=== START OF READ SMART DATA SECTION ===
SMART Attributes Data Structure revision number: 16
Vendor Specific SMART Attributes with Thresholds:
ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE
  5 Reallocated_Sector_Ct   0x0033   100   100   010    Pre-fail  Always       -       0
  9 Power_On_Hours          0x0032   090   090   000    Old_age   Always       -       9034 (12 3 0)

SMART Error Log Version: 1
`, &engine.Table{Header: true, Start: `^ID#`}, []map[string]any{
			{"ID#": "5", "ATTRIBUTE_NAME": "Reallocated_Sector_Ct", "FLAG": "0x0033", "VALUE": "100", "WORST": "100", "THRESH": "010", "TYPE": "Pre-fail", "UPDATED": "Always", "WHEN_FAILED": "-", "RAW_VALUE": "0"},
			{"ID#": "9", "ATTRIBUTE_NAME": "Power_On_Hours", "FLAG": "0x0032", "VALUE": "090", "WORST": "090", "THRESH": "000", "TYPE": "Old_age", "UPDATED": "Always", "WHEN_FAILED": "-", "RAW_VALUE": "9034 (12 3 0)"},
		}},
		{"kubectl get pods, renamed columns, dashed borders skipped", `NAME                      READY   STATUS             RESTARTS   AGE
etcd-master-0             1/1     Running            0          12d
etcd-master-1             0/1     CrashLoopBackOff   41         12d
`, &engine.Table{Header: true, Columns: []string{"name", "ready", "status", "restarts", "age"}}, []map[string]any{
			{"name": "etcd-master-0", "ready": "1/1", "status": "Running", "restarts": "0", "age": "12d"},
			{"name": "etcd-master-1", "ready": "0/1", "status": "CrashLoopBackOff", "restarts": "41", "age": "12d"},
		}},
		{"pipe table without outer bars, no header", "sda | 0 | Online\nsdb | 1 | Failed\n",
			&engine.Table{Columns: []string{"dev", "slot", "state"}}, []map[string]any{
				{"dev": "sda", "slot": "0", "state": "Online"},
				{"dev": "sdb", "slot": "1", "state": "Failed"},
			}},
		{"empty output", "", nil, []map[string]any{}},
	}
	for _, c := range cases {
		got := engine.ParseTable(c.text, c.spec)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

// TestHelperExamples: every documented helper's example gives its stated
// result, so docs/language.md cannot show an example that is wrong.
func TestHelperExamples(t *testing.T) {
	for _, h := range engine.Helpers() {
		env := engine.ExampleEnv()
		v, err := engine.EvalExpr(h.Example, env)
		if err != nil {
			t.Errorf("%s: example %s: %v", h.Name, h.Example, err)
			continue
		}
		tm, _ := engine.ParseTemplate("{{ x }}", engine.Env{"x": v})
		got, _ := tm.RenderRaw(engine.Env{"x": v})
		if got != h.Result {
			t.Errorf("%s: example %s gave %q, documented %q", h.Name, h.Example, got, h.Result)
		}
	}
}
