package alert_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/alert"
	"github.com/runbook-dev/runbook/internal/engine"
)

func runbook(t *testing.T, alertSection string) *engine.Runbook {
	t.Helper()
	src := `runbook: 1
id: alm-45641
title: ALM-45641
targets:
  active: {description: the active FlinkServer}
params:
  standby_ip: {type: ip, description: the standby}
  alarm_time: {type: time, description: when it fired}
  incident: {type: string, default: "", description: the incident}
` + alertSection + `
steps:
  - id: ping
    run: {on: active, cmd: "ping -c 3 {{ params.standby_ip }}"}
    next: done
  - id: done
    end: resolved
`
	rb, ds := engine.Check("r.yaml", []byte(src))
	if rb == nil {
		t.Fatal(ds)
	}
	return rb
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const amSection = `alert:
  params: {standby_ip: labels.standby, alarm_time: startsAt}
  targets: {active: labels.instance}`

// TestAlertmanagerWebhook: the first firing alert of the group binds the
// params and the target; the exporter's port is not SSH's, so it goes.
func TestAlertmanagerWebhook(t *testing.T) {
	b, err := alert.Bind(runbook(t, amSection), read(t, "alertmanager.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != alert.Alertmanager || b.Params["standby_ip"] != "10.20.0.6" || b.Params["alarm_time"] != "2026-11-28T03:02:17.523Z" || b.Targets["active"] != "10.20.0.5" {
		t.Errorf("bound %+v", b)
	}
	if !strings.Contains(b.Note, "2 firing alerts: using the first (fingerprint a3c1e5f0b2d49786)") {
		t.Errorf("note %q", b.Note)
	}
	// The runbook's own param types then check the values.
	if _, err := engine.NewSession(runbook(t, amSection), engine.Options{
		Targets: map[string][]engine.Host{"active": {{Role: "active", Name: b.Targets["active"]}}}, Params: b.Params}); err != nil {
		t.Errorf("bound values do not make a session: %v", err)
	}
}

func TestAlertIPv6Instance(t *testing.T) {
	data := strings.Replace(string(read(t, "alertmanager.json")), `"status": "firing",
      "labels": {"alertname": "FlinkServerSyncFailed", "instance": "10.20.0.5:9100"`, `"status": "resolved",
      "labels": {"alertname": "FlinkServerSyncFailed", "instance": "10.20.0.5:9100"`, 1)
	b, err := alert.Bind(runbook(t, amSection), []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if b.Targets["active"] != "fd00::9" || b.Params["standby_ip"] != "fd00::a" || b.Note != "" {
		t.Errorf("bound %+v", b)
	}
}

// TestPagerDutyV3Webhook: an incident.triggered event; its title and
// service are labels, its created_at the start; the host comes from a
// field of the incident (here the service's name, an ssh_config alias).
func TestPagerDutyV3Webhook(t *testing.T) {
	rb := runbook(t, `alert:
  params: {incident: labels.title, alarm_time: startsAt, standby_ip: data.incident_key}
  targets: {active: labels.service}`)
	// incident_key "flinkserver-sync/10.20.0.5" is no IP: the binding
	// works, and the param's type refuses it when the session starts.
	b, err := alert.Bind(rb, read(t, "pagerduty.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != alert.PagerDuty || b.Params["incident"] != "ALM-45641 Data Synchronization Exception on flink-a" || b.Params["alarm_time"] != "2026-11-28T03:02:17Z" || b.Targets["active"] != "FlinkServer" {
		t.Errorf("bound %+v", b)
	}
}

// TestAnyJSONWithAFieldMap: a relay's own shape; numbers stay as written.
func TestAnyJSONWithAFieldMap(t *testing.T) {
	rb := runbook(t, `alert:
  params: {standby_ip: alarm.peers.1, incident: alarm.id}
  targets: {active: alarm.host}`)
	b, err := alert.Bind(rb, []byte(`{"alarm": {"id": 18446744073709551615, "host": "root@flink-a", "peers": ["10.0.0.5", "10.0.0.6"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != alert.JSON || b.Params["incident"] != "18446744073709551615" || b.Params["standby_ip"] != "10.0.0.6" || b.Targets["active"] != "root@flink-a" {
		t.Errorf("bound %+v", b)
	}
}

// TestAlertErrorsNameTheField: what an on-call engineer sees when the
// payload does not carry what the runbook expects.
func TestAlertErrorsNameTheField(t *testing.T) {
	cases := []struct {
		section, payload, want string
	}{
		{`alert: {params: {standby_ip: labels.peer}}`, string(read(t, "alertmanager.json")),
			`alert: params.standby_ip: no field "peer" in labels (it has: alarm_id, alertname, instance, job, severity, standby) (alertmanager: labels.peer)`},
		{amSection, `{"version": "4", "status": "resolved", "alerts": [{"status": "resolved", "labels": {}}]}`,
			`alert: alerts: the Alertmanager payload has no firing alert (1 alerts: resolved)`},
		{amSection, `{"alerts": [`, `alert: payload: not JSON: unexpected EOF`},
		{`alert: {targets: {active: alarm.host}}`, `{"alarm": {"host": "-oProxyCommand=sh"}}`, `alert: targets.active: "-oProxyCommand=sh" from alarm.host is not a host name`},
		{`alert: {params: {incident: alarm}}`, `{"alarm": {"host": "x"}}`, `alert: params.incident: the field is an object, not a value (json: alarm)`},
		{`alert: {params: {incident: alarm.host}}`, `{"alarm": {"host": ""}}`, `alert: params.incident: the field is empty (json: alarm.host)`},
		{``, `{}`, `alert: alert: runbook alm-45641 has no `},
	}
	for _, c := range cases {
		_, err := alert.Bind(runbook(t, c.section), []byte(c.payload))
		var ae *alert.Error
		if !errors.As(err, &ae) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("section %q:\n got %v\nwant %s", c.section, err, c.want)
		}
	}
}

// TestLintAlertSection: bindings name declared params and targets.
func TestLintAlertSection(t *testing.T) {
	src := `runbook: 1
id: a
title: A
targets:
  active: {description: x}
params:
  node: {type: string, description: x}
alert:
  params: {nodes: labels.node}
  targets: {activ: labels.instance, active: "labels..x"}
steps:
  - id: done
    end: resolved
`
	_, ds := engine.Check("a.yaml", []byte(src))
	all := ds.Error()
	for _, w := range []string{
		`a.yaml:9:12: error: alert: unknown param "nodes" (did you mean "node"?)`,
		`a.yaml:10:13: error: alert: unknown target "activ" (did you mean "active"?)`,
		`a.yaml:10:45: error: alert.targets.active: "labels..x" is not a path`,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("want %s in\n%s", w, all)
		}
	}
}

// TestExampleRunbookFromNodeExporterAlert: the slow-disk example starts
// from node_exporter's alert as Alertmanager sends it: the device label
// is the param, the instance the node.
func TestExampleRunbookFromNodeExporterAlert(t *testing.T) {
	rb, ds := engine.CheckFile("../../examples/mrs-slow-disk.yaml")
	if rb == nil {
		t.Fatal(ds)
	}
	payload := `{"receiver":"runbook","status":"firing","alerts":[{"status":"firing",
	  "labels":{"alertname":"NodeDiskIOSaturation","device":"sdb","instance":"node-3:9100","job":"node","severity":"warning"},
	  "annotations":{"summary":"Disk IO queue is high on node-3"},"startsAt":"2026-11-28T03:02:17.523Z","endsAt":"0001-01-01T00:00:00Z",
	  "generatorURL":"http://prometheus-0:9090/graph","fingerprint":"9c2f1e0a7b6d5c4e"}],"version":"4","groupKey":"{}"}`
	b, err := alert.Bind(rb, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if b.Params["device"] != "sdb" || b.Targets["node"] != "node-3" {
		t.Fatalf("bound %+v", b)
	}
	if _, err := engine.NewSession(rb, engine.Options{Targets: map[string][]engine.Host{"node": {{Role: "node", Name: b.Targets["node"]}}}, Params: b.Params}); err != nil {
		t.Errorf("the bound values do not start a session: %v", err)
	}
	// A device label the param refuses (a partition path) fails as --param would.
	b, _ = alert.Bind(rb, []byte(strings.Replace(payload, `"device":"sdb"`, `"device":"/dev/sdb1; reboot"`, 1)))
	if _, err := engine.NewSession(rb, engine.Options{Targets: map[string][]engine.Host{"node": {{Role: "node", Name: "node-3"}}}, Params: b.Params}); err == nil {
		t.Errorf("a device label with a command in it started a session")
	}
}
