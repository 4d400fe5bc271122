package engine

import "time"

// FormatVersion is the runbook format this engine reads (`runbook: 1`).
const FormatVersion = 1

// Pos is a position in a runbook source file. Line and Col are 1-based.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// Runbook is a loaded runbook: a decision tree of steps over named targets.
type Runbook struct {
	Version     int
	ID          string
	Title       string
	Source      string // provenance: vendor document and section
	Description string // markdown
	Targets     []*Target
	Params      []*Param
	Steps       []*Step
	Redact      []*RedactRule
	Includes    []Include // the files its calls read, as read
	Alert       *AlertSpec

	File   string // where it was loaded from (display name)
	Raw    []byte // the source bytes, for hashing into bundles
	SHA256 string // hex digest of Raw

	Pos Pos
}

// AlertSpec says where `runbook run --alert` finds each param's value and
// each target's host in an alert (Alertmanager, PagerDuty, or any JSON).
type AlertSpec struct {
	Params  []*AlertField // param name <- path
	Targets []*AlertField // target role <- path
	Pos     Pos
}

// AlertField is one binding: Name (a param or role) from Path, a dotted
// path in the alert (labels.instance, startsAt, event.data.title).
type AlertField struct {
	Name, Path string
	Pos        Pos
}

// Target is a role bound to one host (or, for groups, several) at run time.
type Target struct {
	Name        string
	Description string
	Group       bool
	Pos         Pos
}

// Param types.
const (
	ParamString   = "string"
	ParamInt      = "int"
	ParamIP       = "ip"
	ParamHost     = "host"
	ParamPath     = "path"
	ParamEnum     = "enum"
	ParamDuration = "duration"
	ParamTime     = "time" // an alarm time: date(params.x) makes it a time
)

// Param is a typed value given on the command line, asked for, or defaulted.
type Param struct {
	Name        string
	Type        string
	Description string
	Prompt      string
	Default     string // may itself be a template, e.g. "{{ targets.standby.address }}"
	HasDefault  bool
	Pattern     string // string: anchored regular expression
	Min, Max    *int64 // int
	Under       string // path: must be this directory or below it
	Values      []string
	Secret      bool
	Pos         Pos
	DefaultPos  Pos
}

// StepKind says what a step does. Exactly one per step.
type StepKind string

const (
	KindRun     StepKind = "run"
	KindAsk     StepKind = "ask"
	KindManual  StepKind = "manual"
	KindFix     StepKind = "fix"
	KindWait    StepKind = "wait"
	KindCollect StepKind = "collect"
	KindEnd     StepKind = "end"
)

// Outcome is how a session ended.
type Outcome string

const (
	OutcomeResolved  Outcome = "resolved"
	OutcomeEscalated Outcome = "escalated"
	OutcomeAborted   Outcome = "aborted"
)

// Step is one node of the decision tree.
type Step struct {
	ID    string
	Ref   string // the vendor's own step number
	Title string
	Doc   string // markdown for the operator
	Kind  StepKind

	Run     *Command       // run
	Fix     *Command       // fix
	Ask     string         // ask: the question
	Choices []*Choice      // ask: answer -> step
	Auto    string         // ask: the answer --auto takes; "stop" means a human is needed
	Manual  string         // manual: instructions (markdown)
	Wait    *Wait          // wait
	Collect []*CollectItem // collect
	End     Outcome        // end
	Message string         // end: the closing message

	// ForEach (run steps): an expression giving a list; the probe runs once
	// per item, in order, with the item named As (default "item") in its
	// command. Branches then see one entry per item and host in `results`.
	ForEach    string
	As         string
	ForEachPos Pos

	PerHost *PerHost // from this step each host walks its own path (perhost.go)
	Rollout *Rollout // fix steps on a group: canary, batches, error budget (rollout.go)
	Call    *Call    // call: another runbook file's steps (call.go)
	Frame   *Frame   // set on steps inlined from a call

	Capture  []*Capture
	Branches []*Branch
	Else     string
	Next     string
	OnError  string

	// Positions of the routing keys, for precise lint messages.
	ElsePos, NextPos, OnErrorPos, AutoPos Pos
	// TextPos is where the ask question or manual text starts, MessagePos the end message.
	TextPos, MessagePos Pos

	Pos   Pos // of the step's mapping
	IDPos Pos
}

// Title or, failing that, ID: how a step is named to people.
func (s *Step) Name() string {
	if s.Title != "" {
		return s.Title
	}
	return s.ID
}

// Label is "ref title" when the step has a vendor ref, else the title.
func (s *Step) Label() string {
	if s.Ref != "" {
		return s.Ref + " " + s.Name()
	}
	return s.Name()
}

// Command is what a run, fix or wait step executes on a target.
type Command struct {
	On          string // target role
	Cmd         string // template; every interpolation is shell-quoted
	Timeout     time.Duration
	Sudo        bool
	Destructive bool     // fix only: confirmation by typing the host name
	Input       []*Param // fix only: values the operator supplies at confirmation
	Example     string   // what the probe prints, as documented: lint checks the captures against it
	ExamplePos  Pos

	Pos    Pos
	OnPos  Pos
	CmdPos Pos
}

// Choice maps an answer to the step it leads to.
type Choice struct {
	Answer string
	Goto   string
	Pos    Pos
}

// Branch is one conditional route: the first whose If holds wins.
type Branch struct {
	If             string
	Goto           string
	Pos            Pos
	IfPos, GotoPos Pos
}

// Capture extracts a named value from stdout. The plain form is a regular
// expression: group 1, or the named groups when the pattern has them. The
// mapping form says what to keep (see the CaptureX kinds): every match, a
// table's rows or the JSON stdout holds. Patterns may name params and
// earlier captures ({{ }}); their values match literally.
type Capture struct {
	Name    string
	Kind    string // CaptureFirst (the default), CaptureAll, CaptureTable, CaptureJSON
	Pattern string
	Table   *Table // CaptureTable
	JSON    string // CaptureJSON: "object" (the default) or "list", the shape lint checks against
	Pos     Pos
	PatPos  Pos
}

// Wait polls a probe until an expression holds or the timeout passes.
type Wait struct {
	At, For  string // timed waits (wait_time.go): a time of day or time expression; a duration expression
	Every    time.Duration
	Timeout  time.Duration
	Run      *Command
	Until    string
	Pos      Pos
	UntilPos Pos
	AtPos    Pos
	ForPos   Pos
}

// CollectItem is one thing to gather for the bundle: files by glob or a command's output.
type CollectItem struct {
	On       string
	Files    []string
	Since    time.Duration
	SinceSrc string // since as written when it is a template: a duration or a time, worked out at collect time
	MaxBytes int64
	Cmd      string
	Sudo     bool
	Timeout  time.Duration
	Pos      Pos
	OnPos    Pos
	FilesPos Pos
	SincePos Pos
}

// RedactRule is a runbook-defined redaction pattern for the bundle.
type RedactRule struct {
	Name    string
	Pattern string
	Pos     Pos
}

// Step returns the step with the given id or vendor ref, or nil.
func (rb *Runbook) Step(idOrRef string) *Step {
	for _, s := range rb.Steps {
		if s.ID == idOrRef {
			return s
		}
	}
	for _, s := range rb.Steps {
		if s.Ref != "" && s.Ref == idOrRef && s.Frame == nil { // a called file's refs are its own
			return s
		}
	}
	return nil
}

// Target returns the declared target with that role name, or nil.
func (rb *Runbook) Target(name string) *Target {
	for _, t := range rb.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Param returns the declared param with that name, or nil.
func (rb *Runbook) Param(name string) *Param {
	for _, p := range rb.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Routes lists every step id a step can lead to, in declaration order.
func (s *Step) Routes() []string {
	var out []string
	for _, b := range s.Branches {
		out = append(out, b.Goto)
	}
	for _, c := range s.Choices {
		out = append(out, c.Goto)
	}
	for _, r := range []string{s.Else, s.Next, s.OnError} {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}

// Commands returns the command templates a step carries (run, fix, wait probe).
func (s *Step) Command() *Command {
	switch s.Kind {
	case KindRun:
		return s.Run
	case KindFix:
		return s.Fix
	case KindWait:
		if s.Wait != nil {
			return s.Wait.Run
		}
	}
	return nil
}
