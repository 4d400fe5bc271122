package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
)

type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }
func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

// etcdProcedure is the part of OpenShift's "replace an unhealthy etcd
// member" that the format could not say before: a JSON member list whose
// IDs overflow int64, the hex ID `member remove` wants, a Go template that
// must reach oc untouched, a table check, a RAID slot list, a pattern built
// from a param, a "repeat once" guard and a log window around the alarm.
const etcdProcedure = `runbook: 1
id: etcd-replace
title: Replace an unhealthy etcd member
targets:
  master: {description: a healthy control-plane node}
params:
  node: {type: string, description: the unhealthy member's node name}
  alarm_time: {type: string, description: when the alarm fired}
steps:
  - id: members
    run: {on: master, cmd: "etcdctl member list -w json"}
    capture:
      list: {json: object}
    branches:
      - if: any(list.members, .name == params.node)
        goto: pods
    else: gone
  - id: pods
    run: {on: master, cmd: "oc get pods -n openshift-etcd -o go-template='{{raw}}{{range .items}}{{.metadata.name}} {{.status.phase}}{{\"\\n\"}}{{end}}{{/raw}}'"}
    capture:
      phase: '(?m)^etcd-{{ params.node }} (\w+)$'
    next: remove
  - id: remove
    fix:
      on: master
      cmd: "etcdctl member remove {{ hex(find(steps.members.list.members, .name == params.node).ID) }}"
    next: health
  - id: health
    run: {on: master, cmd: "etcdctl member list -w table"}
    capture:
      rows: {table: true}
    branches:
      - if: all(rows, .STATUS == "started") && !any(rows, .NAME == params.node)
        goto: slots
      - if: visits("health") < 2
        goto: health
    else: escalate
  - id: slots
    run: {on: master, cmd: "storcli /c0 show all"}
    capture:
      slots: {pattern: 'Slot Number: (\d+)', all: true}
    branches:
      - if: len(slots) == 3 && slots[2] == "7"
        goto: logs
    else: escalate
  - id: logs
    run: {on: master, cmd: "journalctl -u etcd --since {{ around(date(params.alarm_time), '10m').from.Format('2006-01-02 15:04:05') }} --until {{ around(date(params.alarm_time), '10m').to.Format('2006-01-02 15:04:05') }} | tail -1; echo {{ now().Format('15:04') }}"}
    next: done
  - id: gone
    end: resolved
    message: the member is already gone
  - id: escalate
    end: escalated
  - id: done
    end: resolved
`

func TestEtcdProcedure(t *testing.T) {
	rb, ds := engine.Check("etcd.yaml", []byte(etcdProcedure))
	if rb == nil || len(ds) > 0 {
		t.Fatalf("lint:\n%v", ds)
	}
	fake := enginetest.New(
		enginetest.Rule{Match: `^etcdctl member list -w json$`, Stdout: `{"header":{"cluster_id":14841639068965178418},"members":[{"ID":10501334649042878790,"name":"master-1"},{"ID":18249187646912138824,"name":"master-2"}]}` + "\n"},
		enginetest.Rule{Match: `^oc get pods -n openshift-etcd -o go-template='\{\{range \.items\}\}\{\{\.metadata\.name\}\} \{\{\.status\.phase\}\}\{\{"\\n"\}\}\{\{end\}\}'$`,
			Stdout: "etcd-master-0 Running\netcd-master-1 CrashLoopBackOff\netcd-master-10 Running\n"},
		enginetest.Rule{Match: `^etcdctl member remove 91bc3c398fb3c146$`, Stdout: "Member 91bc3c398fb3c146 removed\n"},
		// The first health check still lists the removed member; the guard re-checks once.
		enginetest.Rule{Match: `^etcdctl member list -w table$`, Times: 1, Stdout: `+------------------+---------+----------+
|        ID        | STATUS  |   NAME   |
+------------------+---------+----------+
| 91bc3c398fb3c146 | started | master-1 |
| fd422379fda50e48 | started | master-2 |
+------------------+---------+----------+
`},
		enginetest.Rule{Match: `^etcdctl member list -w table$`, Stdout: `+------------------+---------+----------+
|        ID        | STATUS  |   NAME   |
+------------------+---------+----------+
| fd422379fda50e48 | started | master-2 |
+------------------+---------+----------+
`},
		enginetest.Rule{Match: `^storcli /c0 show all$`, Stdout: "Slot Number: 0\nFirmware state: Online\nSlot Number: 4\nFirmware state: Online\nSlot Number: 7\nFirmware state: Failed\n"},
		enginetest.Rule{Match: `^journalctl -u etcd --since '2026-11-28 03:02:00' --until '2026-11-28 03:22:00' \| tail -1; echo 04:30$`, Stdout: "ok\n"},
	)
	clock := &stepClock{now: time.Date(2026, 11, 28, 4, 30, 0, 0, time.UTC)}
	var caps []map[string]string
	s, err := engine.NewSession(rb, engine.Options{Executor: fake, Clock: clock,
		Targets: map[string][]engine.Host{"master": {{Role: "master", Name: "master-0"}}},
		Params:  map[string]string{"node": "master-1", "alarm_time": "2026-11-28 03:12:00"},
		OnEvent: func(e engine.Event) {
			if e.Type == engine.EvResult && e.Captures != nil {
				caps = append(caps, e.Captures)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	res := auto.Run(context.Background(), s, auto.Policy{AllowFix: true})
	var path []string
	for _, p := range res.Path {
		path = append(path, p.Step)
	}
	want := []string{"members", "pods", "remove", "health", "health", "slots", "logs", "done"}
	if res.Outcome != auto.Outcome(engine.OutcomeResolved) || !slices.Equal(path, want) {
		t.Fatalf("outcome %s path %v, want resolved %v (message %q)\ncalls: %v", res.Outcome, path, want, res.Message, fake.Calls())
	}
	// The pattern built from the param matched etcd-master-1 only, not etcd-master-10.
	if got := caps[1]["phase"]; got != "CrashLoopBackOff" {
		t.Errorf("templated capture phase = %q, want CrashLoopBackOff", got)
	}
	// The journal keeps the JSON text, integers exact.
	if !strings.Contains(caps[0]["list"], "10501334649042878790") {
		t.Errorf("json capture recorded as %q", caps[0]["list"])
	}
}

// fetchRecorder records what collect asked for.
type fetchRecorder struct {
	*enginetest.Fake
	reqs []engine.FetchRequest
}

func (f *fetchRecorder) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	f.reqs = append(f.reqs, req)
	return nil
}

// TestEntropyProcedureTemplatedText: the MRS insufficient-entropy alarm.
// The instruction names the node and the value found; the log collected is
// the file of the alarm's day, from ten minutes before the alarm.
func TestEntropyProcedureTemplatedText(t *testing.T) {
	src := `runbook: 1
id: mrs-entropy
title: Insufficient system entropy
targets:
  node: {description: the node that raised the alarm}
params:
  alarm_time: {type: time, description: when the alarm fired}
steps:
  - id: entropy
    run: {on: node, cmd: "cat /proc/sys/kernel/random/entropy_avail"}
    capture: {avail: '(\d+)'}
    branches:
      - {if: has(avail) && int(avail) < 500, goto: rngd}
    else: done
  - id: rngd
    manual: |
      On {{ targets.node.name }} the entropy is {{ steps.entropy.avail }} (below 500).
      Start rngd: systemctl start rngd
    next: logs
  - id: logs
    collect:
      - on: node
        files: ["/var/log/messages-{{ timeFormat(date(params.alarm_time), '20060102') }}"]
        since: "{{ around(date(params.alarm_time), '10m').from }}"
    next: done
  - id: done
    end: resolved
    message: "entropy was {{ steps.entropy.avail }}"
`
	rb, ds := engine.Check("entropy.yaml", []byte(src))
	if rb == nil || len(ds) > 0 {
		t.Fatalf("lint:\n%v", ds)
	}
	ex := &fetchRecorder{Fake: enginetest.New(enginetest.Rule{Match: `entropy_avail`, Stdout: "143\n"})}
	clock := &stepClock{now: time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)}
	s, err := engine.NewSession(rb, engine.Options{Executor: ex, Clock: clock,
		Targets: map[string][]engine.Host{"node": {{Role: "node", Name: "node-3"}}},
		Params:  map[string]string{"alarm_time": "2026-11-28T03:12:00Z"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptManual {
		t.Fatalf("got %+v, %v", p, err)
	}
	if want := "On node-3 the entropy is 143 (below 500).\nStart rngd: systemctl start rngd\n"; p.Text != want {
		t.Errorf("manual text %q, want %q", p.Text, want)
	}
	if err := s.Done("operator"); err != nil {
		t.Fatal(err)
	}
	p, err = s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptEnd {
		t.Fatalf("got %+v, %v", p, err)
	}
	if p.Message != "entropy was 143" {
		t.Errorf("end message %q", p.Message)
	}
	if len(ex.reqs) != 1 {
		t.Fatalf("fetches: %+v", ex.reqs)
	}
	r := ex.reqs[0]
	if !slices.Equal(r.Globs, []string{"/var/log/messages-20261128"}) || r.Since != 58*time.Minute {
		t.Errorf("fetch globs %v since %v, want /var/log/messages-20261128 since 58m (04:00 - 03:02)", r.Globs, r.Since)
	}

	// Lint points at a bad name inside the instruction text.
	bad := strings.Replace(src, "steps.entropy.avail }} (below", "steps.entropy.avial }} (below", 1)
	_, ds = engine.Check("entropy.yaml", []byte(bad))
	if len(ds) != 1 || ds[0].Pos.Line != 17 || ds[0].Pos.Col != 49 || !strings.Contains(ds[0].Message, `has no value "avial"`) {
		t.Errorf("lint of a misspelt capture in manual text: %v", ds)
	}
}

// TestSlowDiskForEachSlot: the MRS slow-disk procedure checks SMART on every
// RAID slot the controller lists. The slot list is an all-match capture;
// the next step runs once per slot, each command and journal entry naming
// its slot, and routes on the results of all of them.
func TestSlowDiskForEachSlot(t *testing.T) {
	src := `runbook: 1
id: slow-disk
title: Slow disk
targets:
  node: {description: the data node}
steps:
  - id: slots
    run: {on: node, cmd: "storcli64 /c0 /eall /sall show"}
    capture:
      slots: {pattern: '(?m)^252:(\d+) ', all: true}
    next: smart
  - id: smart
    for_each: steps.slots.slots
    as: slot
    run: {on: node, cmd: "smartctl -H -d megaraid,{{ slot }} /dev/sda"}
    capture: {health: 'result: (\w+)'}
    branches:
      - if: all(results, .health == "PASSED")
        goto: healthy
    else: replace
  - id: replace
    manual: "Replace the disk in slot {{ join(map(filter(steps.smart.results, .health != 'PASSED'), string(.item)), ', ') }}."
    next: healthy
  - id: healthy
    end: resolved
`
	rb, ds := engine.Check("slow.yaml", []byte(src))
	if rb == nil || len(ds) > 0 {
		t.Fatalf("lint:\n%v", ds)
	}
	fake := enginetest.New(
		enginetest.Rule{Match: `^storcli64 `, Stdout: "EID:Slt DID State\n252:0 8 Onln\n252:3 9 Onln\n252:7 10 Onln\n"},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,3 /dev/sda$`, Stdout: "SMART overall-health self-assessment test result: FAILED!\n"},
		enginetest.Rule{Match: `^smartctl -H -d megaraid,[07] /dev/sda$`, Stdout: "SMART overall-health self-assessment test result: PASSED\n"},
	)
	var labels []string
	s, err := engine.NewSession(rb, engine.Options{Executor: fake,
		Targets: map[string][]engine.Host{"node": {{Role: "node", Name: "dn-4"}}},
		OnEvent: func(e engine.Event) {
			if e.Type == engine.EvCommand && e.Step == "smart" {
				labels = append(labels, e.Text+" → "+e.Command)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Advance(context.Background())
	if err != nil || p.Kind != engine.PromptManual {
		t.Fatalf("got %+v, %v", p, err)
	}
	want := []string{
		"slot 1 of 3: 0 → smartctl -H -d megaraid,0 /dev/sda",
		"slot 2 of 3: 3 → smartctl -H -d megaraid,3 /dev/sda",
		"slot 3 of 3: 7 → smartctl -H -d megaraid,7 /dev/sda",
	}
	if !slices.Equal(labels, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(labels, "\n"), strings.Join(want, "\n"))
	}
	if p.Text != "Replace the disk in slot 3." {
		t.Errorf("manual text %q", p.Text)
	}

	// Lint: the item is in scope in the command only, and for_each needs a list.
	bad := strings.Replace(src, "megaraid,{{ slot }}", "megaraid,{{ slto }}", 1)
	if _, ds := engine.Check("slow.yaml", []byte(bad)); len(ds) != 1 || !strings.Contains(ds[0].Message, "slto") || ds[0].Pos.Line != 15 || ds[0].Pos.Col != 51 {
		t.Errorf("misspelt item: %v", ds)
	}
	bad = strings.Replace(src, "for_each: steps.slots.slots", "for_each: len(steps.slots.slots)", 1)
	if _, ds := engine.Check("slow.yaml", []byte(bad)); len(ds) != 1 || !strings.Contains(ds[0].Message, "not a list") {
		t.Errorf("for_each over a number: %v", ds)
	}
}

// TestCollectPathFromParamStaysAbsolute: a value filled into a collected
// path cannot climb out of it with "..", and nothing is fetched.
func TestCollectPathFromParamStaysAbsolute(t *testing.T) {
	src := `runbook: 1
id: collect-param
title: Collect a path from a param
targets:
  node: {description: the node}
params:
  app: {type: string}
steps:
  - id: logs
    collect:
      - on: node
        files: ["/var/log/{{ params.app }}/*.log"]
    next: done
  - id: done
    end: resolved
`
	rb, ds := engine.Check("c.yaml", []byte(src))
	if rb == nil || len(ds) > 0 {
		t.Fatal(ds)
	}
	for _, c := range []struct {
		app  string
		ok   bool
		glob string
	}{{"flink", true, "/var/log/flink/*.log"}, {"../../etc", false, ""}, {"a\nb", false, ""}} {
		ex := &fetchRecorder{Fake: enginetest.New()}
		s, err := engine.NewSession(rb, engine.Options{Executor: ex, Targets: map[string][]engine.Host{"node": {{Role: "node", Name: "n"}}},
			Params: map[string]string{"app": c.app}})
		if err != nil {
			if !c.ok {
				continue // refused as a param already
			}
			t.Fatal(err)
		}
		p, err := s.Advance(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c.ok != (p.Kind == engine.PromptEnd) || (c.ok && (len(ex.reqs) != 1 || ex.reqs[0].Globs[0] != c.glob)) || (!c.ok && len(ex.reqs) != 0) {
			t.Errorf("app %q: prompt %s (%v), fetches %+v", c.app, p.Kind, p.Err, ex.reqs)
		}
	}
}
