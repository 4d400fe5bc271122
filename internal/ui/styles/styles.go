// Package styles holds the one Styles value every TUI component draws with.
//
// Colours are the terminal's own ANSI palette where possible (so they follow
// the user's theme) and chosen per light or dark background otherwise. When
// NO_COLOR is set, Bubble Tea's colour profile strips colours at render time;
// meaning never rests on colour alone: marks (✓ ✗ ● ▶) and bold/reverse carry
// it too.
package styles

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles for every component. Zero values are unstyled, which is what the
// golden tests use.
type Styles struct {
	IsDark bool

	// Outline (left pane).
	OutlineCurrent   lipgloss.Style
	OutlinePassed    lipgloss.Style
	OutlineFailed    lipgloss.Style
	OutlineAnswered  lipgloss.Style
	OutlineUnvisited lipgloss.Style
	OutlineVisited   lipgloss.Style

	// Main pane.
	Title    lipgloss.Style
	Ref      lipgloss.Style
	Muted    lipgloss.Style
	Command  lipgloss.Style
	Host     lipgloss.Style
	Sudo     lipgloss.Style
	Decision lipgloss.Style
	Warning  lipgloss.Style
	Danger   lipgloss.Style
	Success  lipgloss.Style
	Stderr   lipgloss.Style
	Info     lipgloss.Style
	Match    lipgloss.Style
	Spinner  lipgloss.Style

	// Prompts and overlays.
	Question   lipgloss.Style
	Choice     lipgloss.Style
	ChoiceSel  lipgloss.Style
	ChoiceKey  lipgloss.Style
	InputLabel lipgloss.Style
	InputError lipgloss.Style
	Panel      lipgloss.Style // border of overlays

	// Status bar.
	StatusBar   lipgloss.Style
	StatusTitle lipgloss.Style
	StatusOK    lipgloss.Style
	StatusBad   lipgloss.Style
	StatusKey   lipgloss.Style
	StatusDesc  lipgloss.Style
	StatusError lipgloss.Style
	// StatusBanner marks a demo (or any non-production) session.
	StatusBanner lipgloss.Style

	Separator lipgloss.Style
	// ProgressFill colours progress bars (nil: the bar's default blend).
	ProgressFill color.Color

	// Markdown style name for glamour ("dark", "light"; "ascii" in tests).
	Markdown string
}

// DefaultStyles returns the styles for a dark or light background.
func DefaultStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	var (
		red     color.Color = lipgloss.Color("1")
		green   color.Color = lipgloss.Color("2")
		yellow  color.Color = lipgloss.Color("3")
		blue    color.Color = lipgloss.Color("4")
		magenta color.Color = lipgloss.Color("5")
		cyan    color.Color = lipgloss.Color("6")
		dim                 = ld(lipgloss.Color("#8a8a8a"), lipgloss.Color("#6c6c6c"))
		fg                  = ld(lipgloss.Color("#1c1c1c"), lipgloss.Color("#e4e4e4"))
		barBg               = ld(lipgloss.Color("#e4e4e4"), lipgloss.Color("#262626"))
	)
	s := lipgloss.NewStyle
	md := "dark"
	if !isDark {
		md = "light"
	}
	return Styles{
		IsDark:           isDark,
		OutlineCurrent:   s().Bold(true).Reverse(true),
		OutlinePassed:    s().Foreground(green),
		OutlineFailed:    s().Foreground(red),
		OutlineAnswered:  s().Foreground(cyan),
		OutlineUnvisited: s().Foreground(dim),
		OutlineVisited:   s().Foreground(fg),

		Title:    s().Bold(true),
		Ref:      s().Foreground(blue).Bold(true),
		Muted:    s().Foreground(dim),
		Command:  s().Bold(true),
		Host:     s().Foreground(cyan),
		Sudo:     s().Foreground(yellow).Bold(true),
		Decision: s().Foreground(magenta).Bold(true),
		Warning:  s().Foreground(yellow).Bold(true),
		Danger:   s().Foreground(red).Bold(true),
		Success:  s().Foreground(green).Bold(true),
		Stderr:   s().Foreground(red),
		Info:     s().Foreground(dim).Italic(true),
		Match:    s().Reverse(true),
		Spinner:  s().Foreground(cyan),

		Question:   s().Bold(true),
		Choice:     s(),
		ChoiceSel:  s().Bold(true).Reverse(true),
		ChoiceKey:  s().Foreground(blue).Bold(true),
		InputLabel: s().Bold(true),
		InputError: s().Foreground(red),
		Panel:      s().Border(lipgloss.RoundedBorder()).BorderForeground(dim).Padding(0, 1),

		StatusBar:    s().Background(barBg).Foreground(fg),
		StatusTitle:  s().Background(barBg).Foreground(fg).Bold(true),
		StatusOK:     s().Background(barBg).Foreground(green),
		StatusBad:    s().Background(barBg).Foreground(red).Bold(true),
		StatusKey:    s().Background(barBg).Foreground(blue).Bold(true),
		StatusDesc:   s().Background(barBg).Foreground(dim),
		StatusError:  s().Background(barBg).Foreground(red).Bold(true),
		StatusBanner: s().Background(yellow).Foreground(lipgloss.Color("0")).Bold(true),

		Separator:    s().Foreground(dim),
		ProgressFill: green,
		Markdown:     md,
	}
}

// Plain returns unstyled styles, for golden files and benchmarks: text and
// layout only.
func Plain() Styles {
	return Styles{IsDark: true, Markdown: "ascii"}
}
