package runbooks_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
	"github.com/runbook-dev/runbook/runbooks"
)

// walked is what an operator saw in one scenario run: every event, and the
// text of each prompt, by step id.
type walked struct {
	events  []engine.Event
	prompts map[string]string
	outcome engine.Outcome
}

// commands lists the commands sent at step, in order.
func (w *walked) commands(step string) []string {
	var out []string
	for _, e := range w.events {
		if e.Type == engine.EvCommand && e.Step == step {
			out = append(out, e.Command)
		}
	}
	return out
}

// walk drives a shipped scenario the way an operator would (answers,
// confirmations and manual steps as the scenario declares), keeping what the
// prompts showed. It fails on a prompt the scenario does not answer.
func walk(t *testing.T, file string) *walked {
	t.Helper()
	data, err := runbooks.FS.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load(file, data)
	if err != nil {
		t.Fatal(err)
	}
	rb := shipped(t)[s.Runbook]
	clock := engine.NewSteppedClock(scenarioStart(s))
	ex := scenario.NewExecutor(s)
	ex.Now = clock.Now
	w := &walked{prompts: map[string]string{}}
	sess, err := engine.NewSession(rb, engine.Options{Executor: ex, Targets: s.Bindings(), Params: s.Params, Clock: clock,
		OnEvent: func(e engine.Event) { w.events = append(w.events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 200 {
		p, err := sess.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w.prompts[p.Step.ID] = p.Text
		switch p.Kind {
		case engine.PromptEnd:
			w.outcome = p.Outcome
			return w
		case engine.PromptAsk:
			a, ok := s.Answers[p.Step.ID]
			if !ok {
				a, ok, err = sess.AutoAnswer(p.Step)
				if err != nil || !ok {
					t.Fatalf("%s: ask %s: no answer (%v)", file, p.Step.ID, err)
				}
			}
			err = sess.Answer(a, "test")
		case engine.PromptManual:
			w.prompts[p.Step.ID] = p.Text
			err = sess.Done("test")
		case engine.PromptConfirm:
			w.prompts[p.Step.ID] = p.Command
			err = sess.Confirm(s.Inputs[p.Step.ID], "test")
		default:
			t.Fatalf("%s: step %s: prompt %s: %v", file, p.Step.ID, p.Kind, p.Err)
		}
		if err != nil {
			t.Fatalf("%s: step %s: %v", file, p.Step.ID, err)
		}
	}
	t.Fatalf("%s: no end after 200 prompts", file)
	return nil
}

// TestMRSLogWindow: an ALM-45641 generated at 11:59 with the permission
// error logged at 12:01 and 12:02 (after the 12:00:07 rotation, so in the
// current ha.log). The runbook reads the rotated log that can hold the window
// and then the current one, oldest first, skips the log rotated the day
// before, and shows exactly the errors from 11:49 to 12:09, in time order.
func TestMRSLogWindow(t *testing.T) {
	w := walk(t, "scenarios/mrs-alm-45641/8-error-after-alarm-time.yaml")
	if w.outcome != engine.OutcomeResolved {
		t.Fatalf("outcome %s, want resolved", w.outcome)
	}
	cmds := w.commands("scan-ha-logs")
	want := []string{
		"cd /var/log/Bigdata/flink/flinkserver/ha/runlog && zcat -f -- ha.log.2021-03-22_12-00-07.gz | grep -E 'ERROR|FATAL'",
		"cd /var/log/Bigdata/flink/flinkserver/ha/runlog && zcat -f -- ha.log | grep -E 'ERROR|FATAL'",
	}
	if !slices.Equal(cmds, want) {
		t.Errorf("HA logs read:\n%s\nwant, oldest first:\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
	text := w.prompts["rectify-from-log"]
	first := strings.Index(text, "2021-03-22 12:01:07,611 | ERROR")
	second := strings.Index(text, "2021-03-22 12:02:07,640 | ERROR")
	if first < 0 || second < first {
		t.Errorf("rectify-from-log does not show the 12:01 and 12:02 errors in order:\n%s", text)
	}
	for _, outside := range []string{"09:14:51", "12:15:33", "2021-03-21"} {
		if strings.Contains(text, outside) {
			t.Errorf("rectify-from-log shows %s, outside 11:49-12:09:\n%s", outside, text)
		}
	}
	if !strings.Contains(text, "2 errors logged between 2021-03-22 11:49:00 and 2021-03-22 12:09:00") {
		t.Errorf("rectify-from-log does not name the window:\n%s", text)
	}
}

// TestMRSCollectsBothNodes: step 14 collects the FlinkServer logs of the
// active and the standby node, from 10 minutes before the alarm, and the HA
// run log lines of the window itself on both.
func TestMRSCollectsBothNodes(t *testing.T) {
	w := walk(t, "scenarios/mrs-alm-45641/4-ha-log-permission.yaml")
	files := map[string][]string{}
	windows := map[string]string{}
	for _, e := range w.events {
		if e.Step != "collect-logs" {
			continue
		}
		if e.Type == engine.EvCollect && e.Path != "" {
			files[e.Host] = append(files[e.Host], e.Path)
		}
		if e.Type == engine.EvCollect && strings.Contains(e.Command, "awk") {
			windows[e.Host] = e.Command
		}
	}
	for _, h := range []string{"fi-node-01", "fi-node-02"} {
		if !slices.Contains(files[h], "/var/log/Bigdata/flink/flinkserver/ha/runlog/ha.log") ||
			!slices.Contains(files[h], "/var/log/Bigdata/flink/flinkserver/flinkserver.log") {
			t.Errorf("%s: collected %v, want its ha.log and flinkserver.log", h, files[h])
		}
		if !strings.Contains(windows[h], "-v from='2021-03-22 11:49:00' -v to='2021-03-22 12:09:00'") {
			t.Errorf("%s: no HA log extract of 11:49-12:09 (command %q)", h, windows[h])
		}
	}
	// The rotated logs of the day before end before the window: not collected.
	if slices.Contains(files["fi-node-01"], "/var/log/Bigdata/flink/flinkserver/ha/runlog/ha.log.2021-03-21_06-12-44.gz") {
		t.Errorf("collected the log rotated on 2021-03-21: %v", files["fi-node-01"])
	}
}

// TestFlinkKillsTheJVM: on YARN, ps lists the /bin/bash -c wrapper of
// launch_container.sh first, with the same class name and application id,
// then the JVM. The drills kill the JVM of this application (never the
// wrapper, never another job's JVM on the same host), and the command
// confirmed says which PID it is and which wrapper is left alone.
func TestFlinkKillsTheJVM(t *testing.T) {
	cases := []struct{ file, step, kill, wrapper string }{
		{"scenarios/flink-jobmanager-ha/1-kill-jobmanager.yaml", "kill-jm", "kill -9 48213", "48201"},
		{"scenarios/flink-jobmanager-ha/2-kill-nodemanager-then-jobmanager.yaml", "kill-jm", "kill -9 48213", "48201"},
		{"scenarios/flink-jobmanager-ha/9-kill-taskmanager-recovers.yaml", "kill-tm", "kill -9 51877", "51865"},
		{"scenarios/flink-jobmanager-ha/3-kill-tm-nodemanager-then-tm.yaml", "kill-tm", "kill -9 51877", "51865"},
	}
	for _, c := range cases {
		w := walk(t, c.file)
		if w.outcome != engine.OutcomeResolved {
			t.Errorf("%s: outcome %s, want resolved", c.file, w.outcome)
		}
		ran := w.commands(c.step)
		if len(ran) != 1 || !strings.HasSuffix(ran[0], "\n"+c.kill) {
			t.Errorf("%s: %s ran %q, want it to end in %q", c.file, c.step, ran, c.kill)
			continue
		}
		shown := w.prompts[c.step]
		if shown != ran[0] {
			t.Errorf("%s: confirmed %q but ran %q", c.file, shown, ran[0])
		}
		for _, want := range []string{"JVM", "container_e142_1652757164854_0006_01_00000", "/bin/bash -c wrapper(s) of launch_container.sh: " + c.wrapper + " "} {
			if !strings.Contains(shown, want) {
				t.Errorf("%s: the confirmed command does not say %q:\n%s", c.file, want, shown)
			}
		}
		for _, other := range []string{"kill -9 " + c.wrapper, "kill -9 30417", "kill -9 30526"} {
			if strings.Contains(shown, other) {
				t.Errorf("%s: kills the wrong process (%s):\n%s", c.file, other, shown)
			}
		}
	}
}

// TestFlinkDrillsReadSurvivingTaskManagers: in drills 4 and 6 the killed
// TaskManager logs nothing more; the lost-leadership lines are read from the
// TaskManagers still alive (tm_peers), skipping the killed container.
func TestFlinkDrillsReadSurvivingTaskManagers(t *testing.T) {
	for _, file := range []string{
		"scenarios/flink-jobmanager-ha/9-kill-taskmanager-recovers.yaml",
		"scenarios/flink-jobmanager-ha/3-kill-tm-nodemanager-then-tm.yaml",
	} {
		w := walk(t, file)
		if w.outcome != engine.OutcomeResolved {
			t.Errorf("%s: outcome %s, want resolved", file, w.outcome)
		}
		var hosts []string
		for _, e := range w.events {
			if e.Type == engine.EvCommand && strings.Contains(e.Command, "lost leadership") {
				hosts = append(hosts, e.Host)
				if !strings.Contains(e.Command, "*/container_e142_1652757164854_0006_01_000002/*) continue") {
					t.Errorf("%s: the log read does not skip the killed container:\n%s", file, e.Command)
				}
			}
		}
		if !slices.Equal(hosts, []string{"hdfs06-dev.yingzi.com"}) {
			t.Errorf("%s: TaskManager logs read on %v, want the surviving TaskManager's host hdfs06-dev.yingzi.com only", file, hosts)
		}
	}
}

// TestFlinkCollectsFromRMLogDir: the drill evidence takes the
// ResourceManager log from rm_log_dir (here /var/log/hadoop/yarn), not a
// fixed path.
func TestFlinkCollectsFromRMLogDir(t *testing.T) {
	w := walk(t, "scenarios/flink-jobmanager-ha/4-taskmanager-no-recovery.yaml")
	var got []string
	for _, e := range w.events {
		if e.Type == engine.EvCollect && e.Host == "rm1.yingzi.com" && e.Path != "" {
			got = append(got, e.Path)
		}
	}
	if !slices.Equal(got, []string{"/var/log/hadoop/yarn/hadoop-yarn-resourcemanager-rm1.yingzi.com.log"}) {
		t.Errorf("collected from the ResourceManager host: %v, want the log under rm_log_dir /var/log/hadoop/yarn", got)
	}
}

// TestMappingDoc: docs/runbooks.md maps the vendor steps of a runbook to
// its steps; every step of a runbook with a section there, and every vendor
// ref it carries, must appear in that section.
func TestMappingDoc(t *testing.T) {
	data, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for id, rb := range shipped(t) {
		head := "\n## " + id + "\n"
		i := strings.Index(doc, head)
		if i < 0 {
			continue // no section (yet)
		}
		sec := doc[i+len(head):]
		if j := strings.Index(sec, "\n## "); j >= 0 {
			sec = sec[:j]
		}
		for _, st := range rb.Steps {
			if !strings.Contains(sec, "`"+st.ID+"`") {
				t.Errorf("docs/runbooks.md, section %s: step `%s` is not mapped", id, st.ID)
			}
			if st.Ref != "" && !strings.Contains(sec, st.Ref) {
				t.Errorf("docs/runbooks.md, section %s: vendor step %q (step %s) is not mapped", id, st.Ref, st.ID)
			}
		}
	}
}

// fullEdgeCoverage are the shipped runbooks whose scenarios take every
// declared route (each branch, else, next, choice and on_error); the others
// are still being brought there (issue 12).
var fullEdgeCoverage = []string{"flink-jobmanager-ha", "mrs-alm-45641", "fsr-split-brain", "ecss10-cluster-split", "alluxio-k8s-health"}

// TestEdgeCoverage: `runbook test --min-coverage 100` for the runbooks
// above: a route no scenario takes fails here with its file:line:col.
func TestEdgeCoverage(t *testing.T) {
	rbs := shipped(t)
	all := scenarios(t)
	for _, id := range fullEdgeCoverage {
		rb := rbs[id]
		cov := scenario.NewCoverage(rb)
		for _, sf := range all[id] {
			c, err := scenario.RunCheck(context.Background(), rb, sf.file, sf.s)
			if err != nil {
				t.Fatalf("%s: %v", sf.file, err)
			}
			if !c.Passed() {
				t.Errorf("%s: %v", sf.file, c.Failures)
			}
			cov.Add(c.Decisions)
		}
		for _, e := range cov.Missed() {
			t.Errorf("%s: no scenario takes %s", id, e.Describe())
		}
	}
}
