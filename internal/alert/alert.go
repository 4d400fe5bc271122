// Package alert reads an alert payload (an Alertmanager webhook, a
// PagerDuty v3 webhook, or any JSON) and binds a runbook's params and
// targets from it as the runbook's `alert:` section declares, so that a
// webhook relay or `amtool` can start the right runbook with the right
// values: `runbook run ID --alert FILE|-`.
//
// Paths are dotted keys into the alert as this package presents it:
//
//   - Alertmanager: the first firing alert of the payload, with labels,
//     annotations, startsAt, endsAt, status, fingerprint, generatorURL, and the
//     payload's commonLabels, groupLabels, externalURL and receiver.
//   - PagerDuty v3 (event.event_type, event.data): labels (title, service,
//     urgency, priority, status, incident_key, number), startsAt (the
//     incident's created_at), and the raw event and data.
//   - Any other JSON: the document itself.
//
// A target's value "host:port" from Alertmanager or PagerDuty is the host:
// the port is the exporter's, not SSH's.
package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Source kinds.
const (
	Alertmanager = "alertmanager"
	PagerDuty    = "pagerduty"
	JSON         = "json"
)

// Bound is what an alert gave: param values and target hosts, by name.
type Bound struct {
	Source  string
	Params  map[string]string
	Targets map[string]string
	// Note says which alert was used when the payload held several.
	Note string
}

// Error is a payload that does not give what the runbook declares; Field
// names the runbook's binding (params.x, targets.y) or the payload's part.
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string { return "alert: " + e.Field + ": " + e.Msg }

// maxPayload bounds what is read (a webhook body is small).
const maxPayload = 4 << 20

// Bind reads data and binds rb's alert section from it.
func Bind(rb *engine.Runbook, data []byte) (*Bound, error) {
	if rb.Alert == nil {
		return nil, &Error{Field: "alert", Msg: fmt.Sprintf("runbook %s has no `alert:` section: declare which fields bind which params and targets (e.g. alert: {params: {node: labels.node}, targets: {host: labels.instance}})", rb.ID)}
	}
	if len(data) > maxPayload {
		return nil, &Error{Field: "payload", Msg: fmt.Sprintf("%d bytes, more than %d", len(data), maxPayload)}
	}
	doc, src, note, err := normalise(data)
	if err != nil {
		return nil, err
	}
	b := &Bound{Source: src, Params: map[string]string{}, Targets: map[string]string{}, Note: note}
	for _, f := range rb.Alert.Params {
		v, err := lookup(doc, f.Path)
		if err != nil {
			return nil, &Error{Field: "params." + f.Name, Msg: fmt.Sprintf("%s (%s: %s)", err, src, f.Path)}
		}
		b.Params[f.Name] = v
	}
	for _, f := range rb.Alert.Targets {
		v, err := lookup(doc, f.Path)
		if err != nil {
			return nil, &Error{Field: "targets." + f.Name, Msg: fmt.Sprintf("%s (%s: %s)", err, src, f.Path)}
		}
		if src != JSON {
			v = stripPort(v)
		}
		if v == "" || strings.ContainsAny(v, " \t\n,=") || strings.HasPrefix(v, "-") {
			return nil, &Error{Field: "targets." + f.Name, Msg: fmt.Sprintf("%q from %s is not a host name", v, f.Path)}
		}
		b.Targets[f.Name] = v
	}
	return b, nil
}

func normalise(data []byte) (any, string, string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep big integers (ids) as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, "", "", &Error{Field: "payload", Msg: "not JSON: " + err.Error()}
	}
	m, _ := v.(map[string]any)
	if alerts, ok := m["alerts"].([]any); ok && m != nil {
		var firing []map[string]any
		var states []string
		for _, a := range alerts {
			am, ok := a.(map[string]any)
			if !ok {
				continue
			}
			st, _ := am["status"].(string)
			states = append(states, st)
			if st == "" || st == "firing" {
				firing = append(firing, am)
			}
		}
		if len(firing) == 0 {
			return nil, "", "", &Error{Field: "alerts", Msg: fmt.Sprintf("the Alertmanager payload has no firing alert (%d alerts: %s)", len(alerts), strings.Join(states, ", "))}
		}
		a := map[string]any{}
		for _, k := range []string{"commonLabels", "groupLabels", "commonAnnotations", "externalURL", "receiver", "groupKey"} {
			if x, ok := m[k]; ok {
				a[k] = x
			}
		}
		for k, x := range firing[0] {
			a[k] = x
		}
		note := ""
		if len(firing) > 1 {
			fp, _ := firing[0]["fingerprint"].(string)
			note = fmt.Sprintf("the payload holds %d firing alerts: using the first (fingerprint %s)", len(firing), fp)
		}
		return a, Alertmanager, note, nil
	}
	if ev, ok := m["event"].(map[string]any); ok && m != nil {
		if _, ok := ev["event_type"]; ok {
			data, _ := ev["data"].(map[string]any)
			labels := map[string]any{}
			for _, k := range []string{"title", "status", "urgency", "incident_key", "number", "id", "html_url"} {
				if x, ok := data[k]; ok {
					labels[k] = x
				}
			}
			for _, k := range []string{"service", "priority", "escalation_policy"} {
				if o, ok := data[k].(map[string]any); ok {
					if x, ok := o["summary"]; ok {
						labels[k] = x
					}
				}
			}
			a := map[string]any{"labels": labels, "event": ev, "data": data, "event_type": ev["event_type"]}
			if x, ok := data["created_at"]; ok {
				a["startsAt"] = x
			} else if x, ok := ev["occurred_at"]; ok {
				a["startsAt"] = x
			}
			return a, PagerDuty, "", nil
		}
	}
	return v, JSON, "", nil
}

// lookup follows a dotted path; the value must be a scalar.
func lookup(doc any, path string) (string, error) {
	cur := doc
	var walked []string
	for _, k := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			x, ok := c[k]
			if !ok {
				where := "the alert"
				if len(walked) > 0 {
					where = strings.Join(walked, ".")
				}
				return "", fmt.Errorf("no field %q in %s (it has: %s)", k, where, keys(c))
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return "", fmt.Errorf("%s is a list of %d: %q is no index", strings.Join(walked, "."), len(c), k)
			}
			cur = c[i]
		default:
			return "", fmt.Errorf("%s is %s, not an object", strings.Join(walked, "."), describe(cur))
		}
		walked = append(walked, k)
	}
	switch x := cur.(type) {
	case string:
		if x == "" {
			return "", fmt.Errorf("the field is empty")
		}
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", fmt.Errorf("the field is null")
	}
	return "", fmt.Errorf("the field is %s, not a value", describe(cur))
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) > 20 {
		ks = append(ks[:20], "...")
	}
	return strings.Join(ks, ", ")
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", v)
}

// stripPort turns Prometheus's instance "10.0.0.5:9100" (or
// "[fd00::5]:9100") into the host.
func stripPort(v string) string {
	if h, p, err := net.SplitHostPort(v); err == nil {
		if _, err := strconv.Atoi(p); err == nil {
			return h
		}
	}
	return v
}
