package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/choices"
	"github.com/runbook-dev/runbook/internal/ui/input"
	"github.com/runbook-dev/runbook/internal/ui/keymap"
	"github.com/runbook-dev/runbook/internal/ui/outline"
	"github.com/runbook-dev/runbook/internal/ui/output"
	"github.com/runbook-dev/runbook/internal/ui/statusbar"
	"github.com/runbook-dev/runbook/internal/ui/steppane"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

const goldenWidth = 40

// checkBlock asserts every line is exactly w cells: CJK runes count double
// and must neither overflow nor leave the edge ragged.
func checkBlock(t *testing.T, name, s string, w int) {
	t.Helper()
	for i, l := range strings.Split(s, "\n") {
		if got := ansi.StringWidth(l); got != w {
			t.Errorf("%s: line %d is %d cells wide, want %d: %q", name, i, got, w, l)
		}
	}
}

func TestGoldenOutline(t *testing.T) {
	rb := loadRunbook(t, "cjk.yaml")
	m := outline.New(rb, styles.Plain())
	m.SetSize(goldenWidth, 6)
	m.SetMark("check", outline.Passed)
	m.SetMark("korean", outline.Failed)
	m.SetCurrent("russian")
	checkBlock(t, "outline", m.View(), goldenWidth)
	golden(t, "outline_cjk", plainScreen(m.View()))

	narrow := outline.New(rb, styles.Plain())
	narrow.SetSize(17, 3)
	narrow.SetCurrent("escalate") // scrolls
	checkBlock(t, "outline narrow", narrow.View(), 17)
	golden(t, "outline_cjk_narrow_scrolled", plainScreen(narrow.View()))
}

func TestGoldenStepPane(t *testing.T) {
	rb := loadRunbook(t, "cjk.yaml")
	m := steppane.New(styles.Plain())
	m.SetSize(goldenWidth, 12)
	m.SetStep(rb.Step("check"), []engine.Host{{Role: "node", Name: "root@节点-a"}}, "df -hl /srv", false)
	golden(t, "steppane_cjk_run", plainScreen(m.View()))

	m.SetStep(rb.Step("korean"), nil, "", false)
	golden(t, "steppane_korean_manual", plainScreen(m.View()))

	rbb := loadRunbook(t, "backup.yaml")
	m.SetStep(rbb.Step("clear"), []engine.Host{{Role: "active", Name: "root@flink-a"}}, "rm -rf -- {{ input.dir }}", true)
	golden(t, "steppane_destructive_fix", plainScreen(m.View()))
}

func TestGoldenOutput(t *testing.T) {
	m := output.New(styles.Plain())
	m.SetSize(goldenWidth, 8)
	m.Write("node-a", false, "Файловая система  Размер  Использовано\n/dev/sdb1 100G 93G 93% /srv\n")
	m.Write("node-a", false, "备份目录已满，请清理旧的备份文件以释放空间。\n")
	m.Write("node-a", true, "警告: 디스크 공간이 부족합니다\n\tpartial")
	m.Info("— exit 1 in 0.2s")
	checkBlock(t, "output", m.View(), goldenWidth)
	golden(t, "output_cjk", plainScreen(m.View()))

	m.Write("node-b", false, "second host\n")
	m.Flush("node-a")
	m.Search("ДИСК") // no match: case folding of Cyrillic still finds nothing wrong
	m.Search("备份")
	golden(t, "output_two_hosts_search", plainScreen(m.View()))
}

func TestGoldenChoices(t *testing.T) {
	km := keymap.DefaultKeyMap()
	m := choices.New("Тревога снята? 警报是否已解除？", []choices.Item{
		{Label: "yes", Value: "yes"}, {Label: "no", Value: "no", Note: "(자동 결정)"},
		{Label: "подождать ещё десять минут и проверить снова", Value: "wait"},
	}, styles.Plain(), km)
	m.SetSize(goldenWidth, 10)
	m, _ = m.Update(keyMsg("down"))
	checkBlock(t, "choices", m.View(), goldenWidth)
	golden(t, "choices_cjk", plainScreen(m.View()))
}

func TestGoldenInput(t *testing.T) {
	p := &engine.Param{Name: "dir", Type: engine.ParamPath, Under: "/srv/BigData/LocalBackup"}
	m := input.New("目录 dir — 백업 디렉터리", p.Describe(), styles.Plain(),
		input.WithValidate(func(v string) error { _, err := p.Validate(v); return err }))
	m.SetSize(goldenWidth, 3)
	for _, r := range "/etc" {
		m, _ = m.Update(keyMsg(string(r)))
	}
	checkBlock(t, "input", m.View(), goldenWidth)
	golden(t, "input_invalid", plainScreen(m.View()))
}

func TestGoldenStatusBar(t *testing.T) {
	rb := loadRunbook(t, "cjk.yaml")
	m := statusbar.New(rb, map[string][]engine.Host{"node": {{Role: "node", Name: "root@节点-a"}}}, styles.Plain())
	m.SetSize(60, 2)
	m.SetConn("root@节点-a", statusbar.Connected)
	m.SetHints(keymap.DefaultKeyMap().ShortHelp())
	checkBlock(t, "statusbar", m.View(), 60)
	golden(t, "statusbar_cjk", plainScreen(m.View()))
	m.SetMessage("Соединение потеряно: 连接已断开", true)
	m.SetConn("root@节点-a", statusbar.Broken)
	golden(t, "statusbar_cjk_error", plainScreen(m.View()))
}

// TestGoldenScreens walks the CJK runbook and keeps every screen at 80×24.
func TestGoldenScreens(t *testing.T) {
	fake := enginetest.New(enginetest.Rule{Match: `^df -hl /srv$`, Stdout: "Файловая система 1K-блоков Использовано Доступно Использовано% Cмонтировано в\n/dev/sdb1 100G 93G 7G 93% /srv\n磁盘使用率过高\n"})
	h := newHarness(t, "cjk.yaml", fake)
	h.settle()
	shot := func(name string) {
		t.Helper()
		checkBlock(t, name, h.m.render(), 80)
		golden(t, "screen_"+name, h.screen())
	}
	shot("run")
	h.press("enter")
	shot("decided")
	h.press("x")
	shot("explain")
	h.press("esc", ":")
	shot("palette")
	h.press("esc")
	h.press("enter")
	shot("manual_korean")
	h.press("d")
	shot("ask_russian")
	h.press("g")
	shot("tree")
	h.press("esc", "?")
	shot("help")
	h.press("esc", "y")
	shot("end")
	h.send(keyMsg("q"))
	h.until("quit", func() bool { return h.quit })
	_ = fmt.Sprint()
}
