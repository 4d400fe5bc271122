package textblock

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestLineWidths(t *testing.T) {
	for _, s := range []string{"hello", "磁盘空间已满需要清理", "디스크 공간 부족", "Диск заполнен на 93%", "", "a磁b"} {
		for w := 1; w <= 12; w++ {
			got := Line(s, w)
			if n := ansi.StringWidth(got); n != w {
				t.Errorf("Line(%q, %d) = %q, width %d", s, w, got, n)
			}
		}
	}
	if got := Line("磁盘空间", 5); got != "磁盘…" {
		t.Errorf("cut CJK = %q, want 磁盘… (no half rune)", got)
	}
}

func TestBlock(t *testing.T) {
	got := Block("a\n磁盘空间已满\nc\nd", 6, 3)
	want := "a     \n磁盘… \nc     "
	if got != want {
		t.Errorf("Block =\n%q\nwant\n%q", got, want)
	}
}

func TestWrapCJK(t *testing.T) {
	lines := WrapLines("检查备份目录是否已满，如果已满请清理旧的备份", 10)
	for _, l := range lines {
		if ansi.StringWidth(l) > 10 {
			t.Errorf("line %q wider than 10", l)
		}
	}
	if strings.Join(lines, "") != "检查备份目录是否已满，如果已满请清理旧的备份" {
		t.Errorf("wrap lost text: %q", lines)
	}
}

func TestExpandTabs(t *testing.T) {
	if got := ExpandTabs("a\tb\n磁\tc"); got != "a       b\n磁      c" {
		t.Errorf("ExpandTabs = %q", got)
	}
}
