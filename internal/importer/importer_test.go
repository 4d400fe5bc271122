package importer

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/untrusted/hostile"
)

// The seeds are copied from /work/shared/seeds so the tests run anywhere.
func seed(t *testing.T, prefix string) (string, []byte) {
	t.Helper()
	m, _ := filepath.Glob("testdata/seeds/" + prefix + "_*.txt")
	if len(m) != 1 {
		t.Fatalf("seed %s: %v", prefix, m)
	}
	src, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return m[0], src
}

// checked imports src and lints the result: no errors (warnings allowed).
func checked(t *testing.T, name string, src []byte) (*Result, *engine.Runbook) {
	t.Helper()
	r, err := Import(name, src)
	if err != nil {
		t.Fatal(err)
	}
	rb, ds := engine.Check(name+".yaml", r.YAML)
	if ds.HasErrors() || rb == nil {
		t.Fatalf("imported runbook does not pass lint:\n%v\n----\n%s", ds, r.YAML)
	}
	return r, rb
}

// TestImportSeed000EveryStepAndGoTo: the vendor's steps 1-18 (the text
// restarts its numbering per section; its "go to" numbers are continuous)
// each become a step with that ref, and every "go to N" in the text becomes
// a route from the step whose text holds it to step N. Worked out from the
// text here, independently of the importer's parser.
func TestImportSeed000EveryStepAndGoTo(t *testing.T) {
	name, src := seed(t, "000")
	r, rb := checked(t, name, src)

	// The top-level numbered lines, in order, and where each starts.
	lines := strings.Split(string(src), "\n")
	top := regexp.MustCompile(`^  (\d+)\. `)
	var starts []int // 1-based line of vendor step k+1
	for i, l := range lines {
		if top.MatchString(l) {
			starts = append(starts, i+1)
		}
	}
	if len(starts) != 18 {
		t.Fatalf("the seed has %d top-level steps, the test expects 18", len(starts))
	}
	for k := range starts {
		ref := strconv.Itoa(k + 1)
		st := rb.Step(ref)
		if st == nil || st.Ref != ref {
			t.Fatalf("vendor step %s is not a step with ref %s", ref, ref)
		}
	}
	stepAt := func(line int) int {
		n := 0
		for k, s := range starts {
			if s <= line {
				n = k + 1
			}
		}
		return n
	}
	gotoRe := regexp.MustCompile(`(?i)go to (\d+)`)
	gotos := 0
	for i, l := range lines {
		for _, m := range gotoRe.FindAllStringSubmatch(l, -1) {
			gotos++
			from := rb.Step(strconv.Itoa(stepAt(i + 1)))
			to := rb.Step(m[1])
			if to == nil {
				t.Fatalf("line %d: go to %s: no such step", i+1, m[1])
			}
			if !leadsTo(rb, from, to.ID) {
				t.Errorf("line %d %q: step %s (%s) has no route to %s; routes %v", i+1, strings.TrimSpace(l), from.Ref, from.ID, to.ID, from.Routes())
			}
		}
		if strings.Contains(l, "no further action is required") {
			from := rb.Step(strconv.Itoa(stepAt(i + 1)))
			if !leadsToEnd(rb, from, engine.OutcomeResolved) {
				t.Errorf("line %d: step %s does not route to a resolved end: %v", i+1, from.Ref, from.Routes())
			}
		}
	}
	if gotos != 15 {
		t.Errorf("counted %d go-tos in the seed, want 15", gotos)
	}
	// What kind each vendor step became: what an author would check first.
	kinds := map[string]engine.StepKind{
		"1": engine.KindManual, "3": engine.KindRun, "4": engine.KindAsk, "5": engine.KindAsk,
		"6": engine.KindRun, "7": engine.KindFix, "9": engine.KindWait, "10": engine.KindRun,
		"11": engine.KindRun, "13": engine.KindWait, "18": engine.KindManual,
	}
	for ref, k := range kinds {
		if got := rb.Step(ref).Kind; got != k {
			t.Errorf("step %s is %s, want %s", ref, got, k)
		}
	}
	// The clean-up deletes: a destructive fix, with the placeholder as a param.
	fix := rb.Step("7").Fix
	if !fix.Destructive || fix.Cmd != "rm -rf {{ params.directory_cleared }}" {
		t.Errorf("step 7 fix = %+v", fix)
	}
	// The junk-file delete of step 11 is split out as its own destructive fix.
	if f := rb.Step("step-11-fix"); f == nil || f.Kind != engine.KindFix || !f.Fix.Destructive {
		t.Errorf("step 11's rm -rf is not a destructive fix: %+v", f)
	}
	// The waits keep the vendor's times.
	if w := rb.Step("9").Wait; w.Timeout.String() != "1m0s" {
		t.Errorf("step 9 waits %v, want 1m", w.Timeout)
	}
	if w := rb.Step("13").Wait; w.Timeout.String() != "10m0s" {
		t.Errorf("step 13 waits %v, want 10m", w.Timeout)
	}
	// The last vendor step escalates (logs collected, O&M contacted).
	if !leadsToEnd(rb, rb.Step("18"), engine.OutcomeEscalated) {
		t.Errorf("step 18 routes %v", rb.Step("18").Routes())
	}
	if r.TODOs < 10 || !strings.Contains(string(r.YAML), "# TODO: numbered 1 in the text") {
		t.Errorf("guesses not marked: %d TODOs", r.TODOs)
	}
}

func leadsTo(rb *engine.Runbook, from *engine.Step, id string) bool {
	for _, r := range from.Routes() {
		if r == id {
			return true
		}
		// A probe step's split-out fix goes on to where the text said.
		if s := rb.Step(r); s != nil && s.ID == from.ID+"-fix" && leadsTo(rb, s, id) {
			return true
		}
	}
	return false
}

func leadsToEnd(rb *engine.Runbook, from *engine.Step, o engine.Outcome) bool {
	for _, r := range from.Routes() {
		if s := rb.Step(r); s != nil && s.Kind == engine.KindEnd && s.End == o {
			return true
		}
	}
	return false
}

// TestImportEverySeedPassesLint: the other four seeds are prose, command
// listings and short lists; each imports into a runbook lint accepts, with
// the commands found as probes or fixes.
func TestImportEverySeedPassesLint(t *testing.T) {
	for _, p := range []string{"000", "001", "002", "003", "004"} {
		name, src := seed(t, p)
		_, rb := checked(t, name, src)
		runs, fixes := 0, 0
		for _, s := range rb.Steps {
			switch s.Kind {
			case engine.KindRun:
				runs++
			case engine.KindFix:
				fixes++
			}
		}
		t.Logf("%s: %d steps, %d probes, %d fixes", p, len(rb.Steps), runs, fixes)
		switch p {
		case "002": // split-brain: fsradm connect --discard-my-data <res-id> <peer-node>
			var found bool
			for _, s := range rb.Steps {
				if s.Kind == engine.KindFix && strings.Contains(s.Fix.Cmd, "--discard-my-data {{ params.res_id }} {{ params.peer_node }}") && s.Fix.Destructive {
					found = true
				}
			}
			if !found {
				t.Errorf("002: the split-brain discard is not a destructive fix with its placeholders as params")
			}
		case "004": // kubectl health checks are probes; deleting the cluster is a destructive fix
			if runs < 5 {
				t.Errorf("004: %d probes", runs)
			}
			var del bool
			for _, s := range rb.Steps {
				if s.Kind == engine.KindFix && s.Fix.Cmd == "kubectl delete -f alluxio-cluster.yaml" && s.Fix.Destructive {
					del = true
				}
			}
			if !del {
				t.Errorf("004: kubectl delete is not a destructive fix")
			}
		}
	}
}

// TestImportRoutesInEveryLanguage: the yes/no phrasings of the Chinese,
// Korean and Russian editions of the same kind of vendor document.
func TestImportRoutesInEveryLanguage(t *testing.T) {
	docs := map[string]string{
		"zh": "处理步骤\n\n  1. 执行以下命令检查备用节点是否可达:\n\n    ping 192.0.2.10\n\n    • 是,执行3。\n\n    • 否,执行2。\n\n  2. 联系网络管理员检查网络是否故障。\n\n    • 是,处理完毕。\n\n    • 否,转到步骤3。\n\n  3. 等待5分钟,检查告警是否清除。\n\n    • 是,处理完毕。\n\n    • 否,执行4。\n\n  4. 联系运维人员。\n",
		"ko": "절차\n\n  1. 다음 명령을 실행하여 대기 노드에 연결할 수 있는지 확인합니다.\n\n    ping 192.0.2.10\n\n    • 예인 경우 3단계로 이동합니다.\n\n    • 아니요인 경우 2단계로 이동합니다.\n\n  2. 네트워크 관리자에게 문의하여 네트워크 장애 여부를 확인합니다.\n\n    • 예인 경우 추가 작업이 필요 없습니다.\n\n    • 아니요인 경우 3단계로 이동합니다.\n\n  3. 10분 정도 기다린 후 알람이 해제되었는지 확인합니다.\n\n    • 예인 경우 추가 작업이 필요 없습니다.\n\n    • 아니요인 경우 4단계로 이동합니다.\n\n  4. 운영 담당자에게 문의합니다.\n",
		"ru": "Порядок действий\n\n  1. Выполните команду, чтобы проверить доступность резервного узла:\n\n    ping 192.0.2.10\n\n    • Если да, перейдите к шагу 3.\n\n    • Если нет, перейдите к шагу 2.\n\n  2. Обратитесь к администратору сети.\n\n    • да → дальнейшие действия не требуются.\n\n    • нет → перейти к 3.\n\n  3. Подождите 5 минут и проверьте, снята ли авария.\n\n    • Если да, дальнейшие действия не требуются.\n\n    • Если нет, перейдите к шагу 4.\n\n  4. Обратитесь в службу поддержки.\n",
	}
	for lang, doc := range docs {
		r, rb := checked(t, lang+".txt", []byte(doc))
		if len(r.Steps) != 4 {
			t.Fatalf("%s: %d steps", lang, len(r.Steps))
		}
		want := map[string][]Route{
			"1": {{Cond: "yes", To: "step-3"}, {Cond: "no", To: "step-2"}},
			"2": {{Cond: "yes", To: "resolved"}, {Cond: "no", To: "step-3"}},
			"3": {{Cond: "yes", To: "resolved"}, {Cond: "no", To: "step-4"}},
		}
		for _, s := range r.Steps {
			w, ok := want[s.Ref]
			if !ok {
				continue
			}
			if len(s.Routes) != len(w) {
				t.Errorf("%s step %s: routes %+v, want %+v", lang, s.Ref, s.Routes, w)
				continue
			}
			for i := range w {
				if s.Routes[i].Cond != w[i].Cond || s.Routes[i].To != w[i].To {
					t.Errorf("%s step %s route %d: %+v, want %+v", lang, s.Ref, i, s.Routes[i], w[i])
				}
			}
		}
		if k := rb.Step("1").Kind; k != engine.KindRun {
			t.Errorf("%s: step 1 is %s, want run (ping)", lang, k)
		}
		if k := rb.Step("2").Kind; k != engine.KindAsk {
			t.Errorf("%s: step 2 is %s, want ask", lang, k)
		}
		if k := rb.Step("3").Kind; k != engine.KindWait {
			t.Errorf("%s: step 3 is %s, want wait", lang, k)
		}
	}
}

// TestImportHostileText: a vendor document carrying terminal escapes, bidi
// overrides and template braces imports into a file that is safe to cat
// and that lint accepts (braces stay literal text).
func TestImportHostileText(t *testing.T) {
	doc := "Title " + hostile.OneLine() + "\n\n  1. Check {{ params.x }} " + hostile.OneLine() + "\n\n    docker inspect -f '{{.State.Status}}' db\n\n  2. Done.\n"
	r, rb := checked(t, "hostile.txt", []byte(doc))
	hostile.Check(t, "imported runbook", string(r.YAML))
	if c := rb.Step("1").Run.Cmd; c != "{{raw}}docker inspect -f '{{.State.Status}}' db{{/raw}}" {
		t.Errorf("cmd = %q", c)
	}
}

// TestImportNumberingStyles: "Step 3.", "3)" and "3、" number steps too;
// a version number or a time at the start of a line does not.
func TestImportNumberingStyles(t *testing.T) {
	for _, doc := range []string{
		"Procedure\n\nStep 1. Log in to the node.\n\nStep 2. Run the following command:\n\n    df -h /srv\n\n    If yes, go to 3.\n    If no, go to 1.\n\nStep 3. Contact support.\n",
		"Procedure\n\n1) Log in to the node.\n\n2) Run the following command:\n\n    df -h /srv\n\n    If yes, go to 3.\n    If no, go to 1.\n\n3) Contact support.\n",
		"处理步骤\n\n1、登录节点。\n\n2、执行以下命令:\n\n    df -h /srv\n\n    是,执行3。\n    否,执行1。\n\n3、联系技术支持。\n",
	} {
		r, rb := checked(t, "styles.txt", []byte(doc))
		if len(r.Steps) != 3 {
			t.Errorf("%d steps in\n%s\n%s", len(r.Steps), doc, r.YAML)
			continue
		}
		s := rb.Step("2")
		if s.Kind != engine.KindRun || s.Run.Cmd != "df -h /srv" || !leadsTo(rb, s, "step-3") || !leadsTo(rb, s, "step-1") {
			t.Errorf("step 2: %s %+v routes %v\n%s", s.Kind, s.Run, s.Routes(), r.YAML)
		}
	}
	if _, items, _ := parse(normalise([]byte("Applies to\n\n3.2.0-LTS.2 or later.\n12:00 is the check time.\n2021-03-22 logs.\n"))); len(items) != 0 {
		t.Errorf("numbered steps found in a version, a time and a date: %+v", items[0])
	}
}
