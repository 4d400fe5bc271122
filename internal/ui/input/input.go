// Package input is a one-line text prompt with a label, inline validation and
// optional masking: params missing at start, fix inputs, the destructive
// host-name check, override reasons, notes, command edits, search, and the
// secrets the SSH transport asks for (masked, never kept after submit).
package input

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/runbook-dev/runbook/internal/ui/styles"
	"github.com/runbook-dev/runbook/internal/ui/textblock"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// Model is a labelled text input.
type Model struct {
	styles   styles.Styles
	ti       textinput.Model
	label    string
	hint     string
	validate func(string) error
	err      error
	tried    bool // submit was attempted: show errors even on empty input
	width    int
}

// Option configures an input.
type Option func(*Model)

// WithValidate checks the value on every keystroke; the error shows inline.
func WithValidate(f func(string) error) Option { return func(m *Model) { m.validate = f } }

// WithValue prefills the input.
func WithValue(v string) Option {
	return func(m *Model) { m.ti.SetValue(v); m.ti.CursorEnd() }
}

// Masked hides what is typed (secrets, passphrases).
func Masked() Option {
	return func(m *Model) {
		m.ti.EchoMode = textinput.EchoPassword
		m.ti.EchoCharacter = '•'
	}
}

// WithPlaceholder shows a grey example while empty.
func WithPlaceholder(p string) Option { return func(m *Model) { m.ti.Placeholder = p } }

// New returns a focused input. label and hint may come from a runbook; they
// are sanitised here.
func New(label, hint string, st styles.Styles, opts ...Option) Model {
	ti := textinput.New()
	ti.Prompt = "> "
	ti.CharLimit = 4096
	tis := textinput.DefaultStyles(st.IsDark)
	tis.Cursor.Blink = false
	ti.SetStyles(tis)
	m := Model{styles: st, ti: ti, label: untrusted.SanitizeLine(label), hint: untrusted.SanitizeLine(hint)}
	for _, o := range opts {
		o(&m)
	}
	m.ti.Focus()
	m.check()
	return m
}

// SetSize sets the width; the input is always Height() rows high.
func (m *Model) SetSize(w, _ int) {
	m.width = max(w, 0)
	m.ti.SetWidth(max(w-3, 1))
}

// Update handles typing.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	m.ti, cmd = m.ti.Update(msg)
	m.check()
	return m, cmd
}

func (m *Model) check() {
	m.err = nil
	if m.validate != nil {
		m.err = m.validate(m.ti.Value())
	}
}

// Value is what was typed.
func (m Model) Value() string { return m.ti.Value() }

// Err is the current validation error, if any.
func (m Model) Err() error { return m.err }

// Submit returns the value when it is valid; otherwise the error stays shown.
func (m *Model) Submit() (string, bool) {
	m.tried = true
	m.check()
	if m.err != nil {
		return "", false
	}
	return m.ti.Value(), true
}

// Clear forgets the value (secrets are not kept once submitted).
func (m *Model) Clear() { m.ti.SetValue(""); m.ti.Reset() }

// Height is the number of rows View draws.
func (m Model) Height() int { return 3 }

// View draws the label, the input and the hint or the error.
func (m Model) View() string {
	w := max(m.width, 10)
	var b strings.Builder
	b.WriteString(textblock.Line(m.styles.InputLabel.Render(m.label), w))
	b.WriteByte('\n')
	b.WriteString(textblock.Line(m.ti.View(), w))
	b.WriteByte('\n')
	switch {
	case m.err != nil && (m.tried || m.ti.Value() != ""):
		b.WriteString(textblock.Line(m.styles.InputError.Render("✗ "+untrusted.SanitizeLine(m.err.Error())), w))
	default:
		b.WriteString(textblock.Line(m.styles.Muted.Render(m.hint), w))
	}
	return b.String()
}
