package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/engine/enginetest"
	"github.com/runbook-dev/runbook/internal/ui/styles"
)

// benchModel is the root model in the middle of a probe run that printed
// n lines, streamed in 64 KiB chunks as an SSH channel would deliver them.
func benchModel(b *testing.B, n, w, h int) *Model {
	b.Helper()
	rb := loadRunbook(b, "backup.yaml")
	st := styles.DefaultStyles(true)
	m := New(context.Background(), Config{
		Runbook: rb,
		Options: engine.Options{
			Executor: enginetest.New(),
			Targets:  map[string][]engine.Host{"active": {{Role: "active", Name: "root@flink-a"}}},
			Params:   map[string]string{"ticket": "INC1"},
		},
		Styles: &st,
	})
	b.Cleanup(m.pump.close)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.state = stateRunning
	m.applyEvents([]taggedEvent{{ev: engine.Event{Type: engine.EvStepEnter, Step: "check-space"}},
		{ev: engine.Event{Type: engine.EvCommand, Step: "check-space", Host: "root@flink-a", Command: "find / -xdev -ls"}}})
	feed(m, 0, n)
	m.relayout()
	return m
}

// feed streams lines [from, to) as output events.
func feed(m *Model, from, to int) {
	var chunk strings.Builder
	var evs []taggedEvent
	for i := from; i < to; i++ {
		fmt.Fprintf(&chunk, "%8d  drwxr-xr-x   2 root root  4096 Mar  1 03:00 /srv/BigData/LocalBackup/2025-03-01/part-%06d 磁盘\n", i, i)
		if chunk.Len() > 64<<10 || i == to-1 {
			evs = append(evs, taggedEvent{ev: engine.Event{Type: engine.EvOutput, Step: "check-space", Host: "root@flink-a", Stream: "stdout", Data: chunk.String()}})
			chunk.Reset()
		}
	}
	m.applyEvents(evs)
}

// medianMs runs f b.N times and reports the median duration of one call.
func medianMs(b *testing.B, f func()) {
	var ds []time.Duration
	for b.Loop() {
		t := time.Now()
		f()
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	if len(ds) > 0 {
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "median-ms")
	}
}

// BenchmarkView measures one full screen render after a probe printed
// 100 000 lines, with the default 10 000-line scrollback.
func BenchmarkView(b *testing.B) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		b.Run(fmt.Sprintf("follow-%dx%d", sz[0], sz[1]), func(b *testing.B) {
			m := benchModel(b, 100000, sz[0], sz[1])
			medianMs(b, func() { _ = m.View() })
			b.ReportMetric(float64(m.out.Len()), "kept-lines")
		})
	}
	b.Run("scrolled-search-200x50", func(b *testing.B) {
		m := benchModel(b, 100000, 200, 50)
		m.out.Search("part-0950")
		m.relayout()
		medianMs(b, func() { _ = m.View() })
	})
}

// BenchmarkStreamFrame is one 40 ms frame of a fast probe: ~2 000 new lines
// applied, then the screen rendered.
func BenchmarkStreamFrame(b *testing.B) {
	m := benchModel(b, 10000, 200, 50)
	next := 10000
	medianMs(b, func() {
		feed(m, next, next+2000)
		next += 2000
		m.relayout()
		_ = m.View()
	})
	b.ReportMetric(float64(m.out.Len()), "kept-lines")
}
