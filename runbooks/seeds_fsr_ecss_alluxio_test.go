package runbooks_test

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/scenario"
)

// fetchRecorder is a scenario executor that records what collect steps
// asked for.
type fetchRecorder struct {
	*scenario.Executor
	reqs []engine.FetchRequest
}

func (f *fetchRecorder) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	f.reqs = append(f.reqs, req)
	return f.Executor.Fetch(ctx, h, req, c)
}

// runShipped runs the named scenario of a shipped runbook unattended and
// returns its result, every event, and what collect asked for.
func runShipped(t *testing.T, id, name string) (*auto.Result, []engine.Event, []engine.FetchRequest) {
	return runShippedUntil(t, id, name, "")
}

// shownAt runs the named scenario without its answer for step, so the run
// stops there, and returns the question or instructions as shown.
func shownAt(t *testing.T, id, name, step string) string {
	t.Helper()
	res, _, _ := runShippedUntil(t, id, name, step)
	if res.Stopped == nil || res.Stopped.Step != step {
		t.Fatalf("%s: stopped at %+v, want at %s", name, res.Stopped, step)
	}
	return res.Stopped.Question
}

func runShippedUntil(t *testing.T, id, name, stop string) (*auto.Result, []engine.Event, []engine.FetchRequest) {
	t.Helper()
	rb := shipped(t)[id]
	var s *scenario.Scenario
	for _, sf := range scenarios(t)[id] {
		if sf.s.Name == name {
			s = sf.s
		}
	}
	if rb == nil || s == nil {
		t.Fatalf("no scenario %s of runbook %s", name, id)
	}
	clock := engine.NewSteppedClock(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC))
	ex := &fetchRecorder{Executor: scenario.NewExecutor(s)}
	ex.Now = clock.Now
	var events []engine.Event
	sess, err := engine.NewSession(rb, engine.Options{Executor: ex, Targets: s.Bindings(), Params: s.Params, Clock: clock,
		OnEvent: func(e engine.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	pol := auto.Policy{Answers: s.Answers, AllowFix: s.AllowFix, AllowDestructive: s.AllowDestr, AssumeDone: map[string]bool{}, Inputs: s.Inputs}
	for _, d := range s.AssumeDone {
		pol.AssumeDone[d] = d != stop
	}
	if stop != "" {
		pol.Answers = maps.Clone(pol.Answers)
		for k := range pol.Answers {
			if k == stop || strings.HasPrefix(k, stop+"@") { // STEP@HOST: one host of a per-host section
				delete(pol.Answers, k)
			}
		}
	}
	res := auto.Run(context.Background(), sess, pol)
	if stop == "" && (string(res.Outcome) != s.Expect.Outcome || !slices.Equal(pathOf(res), s.Expect.Path)) {
		t.Fatalf("%s: outcome %s path %v, want %s %v (errors %v, stopped %+v)", name, res.Outcome, pathOf(res), s.Expect.Outcome, s.Expect.Path, res.Errors, res.Stopped)
	}
	return res, events, ex.reqs
}

// TestFSRCollectsFromLogDir: with the FSR logs in /srv/fsr/log, the bundle
// gets the logs from there (it read /var/log/fsr whatever log_dir said).
func TestFSRCollectsFromLogDir(t *testing.T) {
	_, _, reqs := runShipped(t, "fsr-split-brain", "split-brain-escalate-log-dir")
	var globs []string
	for _, r := range reqs {
		globs = append(globs, r.Globs...)
	}
	if !slices.Contains(globs, "/srv/fsr/log/*.log") {
		t.Errorf("collect asked for %v, want /srv/fsr/log/*.log (the log_dir param)", globs)
	}
	for _, g := range globs {
		if strings.HasPrefix(g, "/var/log/fsr") {
			t.Errorf("collect still reads %s although log_dir is /srv/fsr/log", g)
		}
	}
}

// TestFSRScreensNameHostsAndCauses: what the operator reads before choosing
// a victim, replacing a disk or repairing the engine's I/O names the nodes,
// the resource and the cause found.
func TestFSRScreensNameHostsAndCauses(t *testing.T) {
	for _, c := range []struct {
		scenario, step string
		want, not      []string
	}{
		{"split-brain", "choose-victim", []string{"node2 r0 state=standalone", "node3 r0 state=standalone"}, nil},
		{"sas-disk-failing", "physical-failure", []string{
			"node3: SAS FAILURE PREDICTION THRESHOLD EXCEEDED, exit 8 (bit 3: disk failing)", "node2: SAS OK, exit 0"}, nil},
		{"disk-failing", "physical-failure", []string{
			"node3: ATA FAILED!, exit 24 (bit 3: disk failing) (bit 4: pre-fail attribute at threshold)"}, nil},
		{"handle-closed-kill", "kill-open-files", []string{`"handle closed error" lines: node2 pid 76716)`}, nil},
		{"smart-disk-gone", "smart-unreadable", []string{"/dev/sdb on node3 (exit 2)"}, []string{"node2"}},
		{"engine-io-error", "engine-io-repair", []string{
			"node2 2026-11-28 11:52:44 open /opt/data/a/orders.db: permission denied"}, nil},
	} {
		text := shownAt(t, "fsr-split-brain", c.scenario, c.step)
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s at %s: text does not say %q:\n%s", c.scenario, c.step, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(text, n) {
				t.Errorf("%s at %s: text names %q:\n%s", c.scenario, c.step, n, text)
			}
		}
	}
}

// TestECSSPasswordNeverShown: the CoCon password given as cli_password
// reaches ssh through sshpass, and no event (hence no transcript, journal
// or bundle) carries it, not even in the shell-quoted form the command has.
func TestECSSPasswordNeverShown(t *testing.T) {
	for _, name := range []string{"password-login", "password-restart"} {
		testECSSPasswordNeverShown(t, name)
	}
}

// testECSSPasswordNeverShown checks one scenario: password-restart also
// goes through the per-host section and the polls after the restart.
func testECSSPasswordNeverShown(t *testing.T, name string) {
	_, events, _ := runShipped(t, "ecss10-cluster-split", name)
	sawCommand, sawPoll := false, false
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []string{"Tr0ub4dor", "Tr0ub4dor&3'x", `'"'"'x`} {
			if strings.Contains(string(b), piece) {
				t.Errorf("%s: event %s of %s carries %q: %s", name, e.Type, e.Step, piece, b)
			}
		}
		if e.Type == engine.EvCommand && strings.Contains(e.Command, "sshpass -e ssh") {
			sawCommand = true
			sawPoll = sawPoll || e.Step == "verify-split"
		}
	}
	if !sawCommand {
		t.Errorf("%s: no command event shows the sshpass login", name)
	}
	if name == "password-restart" && !sawPoll {
		t.Errorf("%s: the polls after the restart did not log in through sshpass", name)
	}
}

// TestECSSScreensNameHostsAndRows: before a restart the operator reads which
// rows each server sees split; without a password the fallback says why.
func TestECSSScreensNameHostsAndRows(t *testing.T) {
	for _, c := range []struct {
		scenario, step string
		want, not      []string
	}{
		// Both servers wait at the same question: each one's own rows,
		// subsystems and what each choice does on it, one paragraph each.
		{"ds-mnesia-stopped", "choose-restart", []string{
			"ecss1: Split in its table: ds1@ecss1 (Mnesia not running), ds1@ecss2 (Mnesia not running). Subsystems: core, ds, mediator, mycelium, pa-sip.",
			"\n\necss2: Split in its table: ds1@ecss1 (Mnesia not running)"},
			[]string{"mycelium1@", "core1@", "Erlang"}},
		{"split-restart-host", "choose-restart", []string{
			"ecss1: Split in its table: core1@ecss1 (Erlang core1@ecss1), ds1@ecss1 (Erlang ds1@ecss1; Mnesia ds1@ecss1), md1@ecss1 (Erlang md1@ecss1; Mnesia md1@ecss1), mycelium1@ecss1 (Erlang mycelium1@ecss1).",
			"ecss2: Split in its table: core1@ecss2 (Erlang core1@ecss2), ds1@ecss2",
			"keep = restart nothing on ecss1;",
			"keep = restart nothing on ecss2; subsystem = sudo systemctl restart ecss-NAME.service; all = sudo systemctl restart ecss.service (all of ecss2)."},
			[]string{"sip1@", "core1@ecss2 (Erlang core1@ecss1"}},
		// CoCon did not answer on ecss2: its question says no table was read.
		{"cli-unreachable", "choose-restart", []string{"ecss2: Split in its table: (no table read from it: see cli-unavailable)."}, nil},
		{"password-needed", "cli-unavailable", []string{
			"ecss1: CoCon refused key login and no cli_password was given (BatchMode allows key login only)",
			"ecss2: CoCon refused key login"}, nil},
		{"password-wrong", "cli-unavailable", []string{"ecss1: CoCon refused the password (sshpass exit 5); ecss2: CoCon refused the password"}, []string{"wrong-pass"}},
		{"cli-unreachable", "cli-unavailable", []string{"ecss2: exit 255 ssh: connect to host localhost port 8023: Connection refused"}, []string{"ecss1:"}},
	} {
		text := shownAt(t, "ecss10-cluster-split", c.scenario, c.step)
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s at %s: text does not say %q:\n%s", c.scenario, c.step, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(text, n) {
				t.Errorf("%s at %s: text names %q:\n%s", c.scenario, c.step, n, text)
			}
		}
	}
}

// TestAlluxioEveryPodAndNode: every stuck FUSE pod is deleted (not only the
// first), only the hung one when the liveness check finds one, and the CSI
// logs are read on every node that runs a FUSE pod.
func TestAlluxioEveryPodAndNode(t *testing.T) {
	commands := func(events []engine.Event, step string) []string {
		var out []string
		for _, e := range events {
			if e.Step == step && e.Type == engine.EvCommand {
				out = append(out, e.Command)
			}
		}
		return out
	}
	_, ev, _ := runShipped(t, "alluxio-k8s-health", "fuse-stuck")
	if got := commands(ev, "delete-fuse-pod"); len(got) != 1 || got[0] != "kubectl delete pod -n default alluxio-fuse-acee53e8f0a9-3gjbrdekk0 alluxio-fuse-acee53e8f0a9-7xk2pq9wd1" {
		t.Errorf("delete-fuse-pod ran %q, want both stuck pods in one command", got)
	}
	csi := commands(ev, "csi-logs")
	if len(csi) != 2 || !strings.Contains(csi[0], "spec.nodeName=ip-10-0-5-202.ec2.internal") || !strings.Contains(csi[1], "spec.nodeName=ip-10-0-6-118.ec2.internal") {
		t.Errorf("csi-logs ran %q, want one per FUSE node", csi)
	}
	_, ev, _ = runShipped(t, "alluxio-k8s-health", "fuse-hung")
	if got := commands(ev, "delete-hung-fuse"); len(got) != 1 || got[0] != "kubectl delete pod -n default alluxio-fuse-acee53e8f0a9-7xk2pq9wd1" {
		t.Errorf("delete-hung-fuse ran %q, want only the hung pod (10.0.6.31)", got)
	}
}

// TestAlluxioEtcdBackupBeforeDelete: a Delete reclaim policy is set to
// Retain and the volumes are backed up before the PVs and PVCs are deleted;
// the backup instructions name every ETCD volume and its directory.
func TestAlluxioEtcdBackupBeforeDelete(t *testing.T) {
	_, ev, _ := runShipped(t, "alluxio-k8s-health", "etcd-rebuild")
	var order []string
	for _, e := range ev {
		if e.Type == engine.EvStepEnter {
			order = append(order, e.Step)
		}
	}
	at := func(s string) int { return slices.Index(order, s) }
	if !(at("retain-etcd-pvs") >= 0 && at("retain-etcd-pvs") < at("backup-etcd-pv") && at("backup-etcd-pv") < at("delete-etcd-pv")) {
		t.Errorf("steps in order %v: want retain-etcd-pvs, then backup-etcd-pv, then delete-etcd-pv", order)
	}
	for _, e := range ev {
		if e.Step == "retain-etcd-pvs" && e.Type == engine.EvCommand && !strings.Contains(e.Command, "for pv in alluxio-etcd-pv-0 alluxio-etcd-pv-1 alluxio-etcd-pv-2; do kubectl patch pv") {
			t.Errorf("retain command %q: want the three ETCD PVs and not the worker cache PV", e.Command)
		}
	}
	text := shownAt(t, "alluxio-k8s-health", "etcd-rebuild", "backup-etcd-pv")
	for _, w := range []string{"alluxio-etcd-pv-0 (claim data-alluxio-etcd-0, policy Delete, now Retain, node ip-10-0-4-212.ec2.internal, directory /mnt/alluxio/etcd)", "alluxio-etcd-pv-2"} {
		if !strings.Contains(text, w) {
			t.Errorf("backup instructions do not name %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "alluxio-worker-cache-0") {
		t.Errorf("backup instructions name the worker cache PV:\n%s", text)
	}
}

// TestECSSUnitsCaptureReadsEveryUnit: the per-server units probe reads every
// ecss unit of `systemctl list-units --plain`, a failed one (marked ●) too,
// with its state, so the question can say "ds (failed)".
func TestECSSUnitsCaptureReadsEveryUnit(t *testing.T) {
	st := shipped(t)["ecss10-cluster-split"].Step("units")
	var re *regexp.Regexp
	for _, c := range st.Capture {
		if c.Name == "units" {
			re = regexp.MustCompile(c.Pattern)
		}
	}
	if re == nil {
		t.Fatal("step units has no units capture")
	}
	out := "  ecss-core.service          loaded active running daemon ecss-core-17.0 of ecss-10 system\n" +
		"● ecss-ds.service            loaded failed failed  daemon ecss-ds-17.0 of ecss-10 system\n" +
		"  ecss.service               loaded active exited  ECSS-10 system\n"
	var got []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		got = append(got, m[re.SubexpIndex("unit")]+" "+m[re.SubexpIndex("sub")])
	}
	if want := []string{"ecss-core running", "ecss-ds failed", "ecss exited"}; !slices.Equal(got, want) {
		t.Errorf("units read %v, want %v", got, want)
	}
}

// TestECSSSecondRoundShowsTheLatestTable: going through the servers again
// (restart-more → units), each server's question shows the rows of the
// last poll, not of the first /node/nodes-info: after the first restart
// md1@ecss3 is back in Erlang, so only its Mnesia cell is named.
func TestECSSSecondRoundShowsTheLatestTable(t *testing.T) {
	rb := shipped(t)["ecss10-cluster-split"]
	var s *scenario.Scenario
	for _, sf := range scenarios(t)["ecss10-cluster-split"] {
		if sf.s.Name == "second-restart-round" {
			s = sf.s
		}
	}
	if s == nil {
		t.Fatal("no scenario second-restart-round")
	}
	clock := engine.NewSteppedClock(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC))
	ex := scenario.NewExecutor(s)
	ex.Now = clock.Now
	sess, err := engine.NewSession(rb, engine.Options{Executor: ex, Targets: s.Bindings(), Params: s.Params, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var questions []string // the ecss3 paragraph of each round's choose-restart
	for range 200 {
		p, err := sess.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Kind == engine.PromptEnd:
			if p.Outcome != engine.OutcomeResolved || len(questions) != 2 {
				t.Fatalf("ended %s after %d rounds, want resolved after 2", p.Outcome, len(questions))
			}
			if !strings.Contains(questions[0], "md1@ecss3 (Erlang md1@ecss3; Mnesia md1@ecss3)") {
				t.Errorf("round 1: ecss3's question does not name md1@ecss3's Erlang and Mnesia cells:\n%s", questions[0])
			}
			if !strings.Contains(questions[1], "md1@ecss3 (Mnesia md1@ecss3)") || strings.Contains(questions[1], "Erlang md1@ecss3;") {
				t.Errorf("round 2: ecss3's question does not show the last poll's rows (md1@ecss3 back in Erlang, Mnesia apart):\n%s", questions[1])
			}
			return
		case p.Kind == engine.PromptRun || p.Kind == engine.PromptDecided:
			err = sess.Proceed()
		case p.Kind == engine.PromptAsk && p.Step.ID == "alarms":
			err = sess.Answer("yes", "operator")
		case p.Kind == engine.PromptAsk && p.Step.ID == "restart-more":
			err = sess.Answer("yes", "operator")
		case p.Kind == engine.PromptAsk && p.Step.ID == "choose-restart" && len(p.Hosts) == 3:
			for _, para := range strings.Split(p.Text, "\n\n") {
				if strings.HasPrefix(para, "ecss3: ") {
					questions = append(questions, para)
				}
			}
			if err = sess.Select([]string{"ecss3"}); err == nil {
				err = sess.Answer("subsystem", "operator")
			}
		case p.Kind == engine.PromptAsk && p.Step.ID == "choose-restart":
			err = sess.Answer("keep", "operator")
		case p.Kind == engine.PromptConfirm && p.Step.ID == "restart-subsystem":
			err = sess.Confirm(map[string]string{"subsystem": "mediator"}, "operator")
		default:
			t.Fatalf("unexpected %s at %s for %v", p.Kind, p.Step.ID, p.Hosts)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the session did not end")
}
