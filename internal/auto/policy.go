package auto

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/runbook-dev/runbook/internal/engine"
)

// LoadAnswers reads an answers file (YAML, or JSON, which is YAML too): a
// map from step (id or ref) to its answer, or, for a fix step, to a map of
// its input values; "done" answers a manual step.
//
//	ask-network-admin: "no"
//	cleanup: done
//	clear-backups: {dir: /srv/BigData/LocalBackup/2024}
func LoadAnswers(path string) (answers map[string]string, inputs map[string]map[string]string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read answers file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("answers file %s: %w", path, err)
	}
	answers, inputs = map[string]string{}, map[string]map[string]string{}
	var errs []error
	for _, step := range sortedKeys(raw) {
		switch v := raw[step].(type) {
		case map[string]any:
			m := map[string]string{}
			for _, k := range sortedKeys(v) {
				s, ok := scalar(v[k])
				if !ok {
					errs = append(errs, fmt.Errorf("%s.%s: want a text value", step, k))
					continue
				}
				m[k] = s
			}
			inputs[step] = m
		default:
			s, ok := scalar(v)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: want an answer (text) or a map of fix inputs", step))
				continue
			}
			answers[step] = s
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("answers file %s: %w", path, errors.Join(errs...))
	}
	return answers, inputs, nil
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Check reports every way the policy does not fit the runbook (unknown
// steps, answers that are not choices, inputs a fix does not declare), so a
// typo in a cron job fails at once with exit 2 instead of at step 7.
func (pol Policy) Check(rb *engine.Runbook) error {
	var errs []error
	for _, k := range sortedKeys(pol.Answers) {
		v := pol.Answers[k]
		id, host, perHost := strings.Cut(k, "@") // STEP@HOST: one host of a per-host section
		st := rb.Step(id)
		switch {
		case perHost && host == "":
			errs = append(errs, fmt.Errorf("answer for %q: name the host after @ (STEP@HOST=CHOICE)", k))
		case st == nil:
			errs = append(errs, fmt.Errorf("answer for %q: no such step", k))
		case st.Kind == engine.KindManual && len(st.Choices) == 0:
			if !strings.EqualFold(v, "done") {
				errs = append(errs, fmt.Errorf("answer for %s: a manual step takes only \"done\"", st.ID))
			}
		case st.Kind == engine.KindFix && st.Rollout != nil:
			if v != engine.RolloutContinue && v != engine.RolloutStop {
				errs = append(errs, fmt.Errorf("answer for %s: a rollout that stops takes %q or %q, not %q", st.ID, engine.RolloutContinue, engine.RolloutStop, v))
			}
		case st.Kind != engine.KindAsk && st.Kind != engine.KindManual:
			errs = append(errs, fmt.Errorf("answer for %s: it is a %s step, not an ask", st.ID, st.Kind))
		default:
			var names []string
			ok := false
			for _, c := range st.Choices {
				names = append(names, c.Answer)
				ok = ok || strings.EqualFold(c.Answer, v)
			}
			if !ok {
				errs = append(errs, fmt.Errorf("answer for %s: %q is not a choice (%s)", st.ID, v, strings.Join(names, ", ")))
			}
		}
	}
	for _, k := range sortedKeys(pol.AssumeDone) {
		st := rb.Step(k)
		switch {
		case st == nil:
			errs = append(errs, fmt.Errorf("--assume-done %q: no such step", k))
		case st.Kind != engine.KindManual:
			errs = append(errs, fmt.Errorf("--assume-done %s: it is a %s step, not a manual one", st.ID, st.Kind))
		}
	}
	for _, k := range sortedKeys(pol.Inputs) {
		id, host, perHost := strings.Cut(k, "@") // STEP@HOST: one host of a per-host section
		if perHost && host == "" {
			errs = append(errs, fmt.Errorf("inputs for %q: name the host after @ (STEP@HOST.NAME=VALUE)", k))
			continue
		}
		st := rb.Step(id)
		if st == nil || st.Kind != engine.KindFix {
			errs = append(errs, fmt.Errorf("inputs for %q: no such fix step", k))
			continue
		}
		for name := range pol.Inputs[k] {
			found := false
			for _, in := range st.Fix.Input {
				found = found || in.Name == name
			}
			if !found {
				errs = append(errs, fmt.Errorf("input %s.%s: the fix declares no such input", st.ID, name))
			}
		}
	}
	if pol.AllowDestructive && !pol.AllowFix {
		errs = append(errs, errors.New("--allow-destructive needs --allow-fix too"))
	}
	return errors.Join(errs...)
}
