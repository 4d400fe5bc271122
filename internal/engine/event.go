package engine

import "time"

// EventType names what happened.
type EventType string

const (
	EvSessionStart EventType = "session.start"
	EvStepEnter    EventType = "step.enter"
	EvCommand      EventType = "command"
	EvOutput       EventType = "output"
	EvResult       EventType = "result"
	EvPoll         EventType = "wait.poll"
	EvDecision     EventType = "decision"
	EvAnswer       EventType = "answer"
	EvConfirm      EventType = "confirm"
	EvDecline      EventType = "decline"
	EvManualDone   EventType = "manual.done"
	EvOverride     EventType = "override"
	EvBack         EventType = "back"
	EvNote         EventType = "note"
	EvCollect      EventType = "collect"
	EvSimulated    EventType = "simulated"
	EvError        EventType = "error"
	EvSessionEnd   EventType = "session.end"
)

// Event is one thing that happened in a session. It is flat and JSON-ready:
// the journal, the transcript, `--output jsonl` and the UI all consume it.
type Event struct {
	Seq   int       `json:"seq"`
	Time  time.Time `json:"time"`
	Type  EventType `json:"type"`
	Step  string    `json:"step,omitempty"`
	Visit int       `json:"visit,omitempty"` // index into the session history (1-based)
	Host  string    `json:"host,omitempty"`
	// Lane: the event is one host's, inside a per-host section (perhost.go).
	Lane string `json:"lane,omitempty"`

	Runbook string              `json:"runbook,omitempty"` // session.start
	SHA256  string              `json:"sha256,omitempty"`  // session.start
	Targets map[string][]string `json:"targets,omitempty"` // session.start
	Params  map[string]string   `json:"params,omitempty"`  // session.start (secrets masked)

	Command string `json:"command,omitempty"` // command, collect (cmd items)
	Edited  bool   `json:"edited,omitempty"`
	Sudo    bool   `json:"sudo,omitempty"`
	// Item is a for_each step's item a command is for (secrets masked), so
	// a resumed session's results still know their items.
	Item any `json:"item,omitempty"`

	Stream string `json:"stream,omitempty"` // output: stdout | stderr
	Data   string `json:"data,omitempty"`   // output

	Exit     *int              `json:"exit,omitempty"`
	Signal   string            `json:"signal,omitempty"`
	TimedOut bool              `json:"timed_out,omitempty"`
	Duration float64           `json:"duration,omitempty"` // seconds
	Captures map[string]string `json:"captures,omitempty"`

	Poll      int  `json:"poll,omitempty"`
	Satisfied bool `json:"satisfied,omitempty"`

	Next    string          `json:"next,omitempty"`    // decision, override
	Expr    string          `json:"expr,omitempty"`    // decision: the expression that decided
	By      string          `json:"by,omitempty"`      // decision/answer: auto | operator | override | on_error | flag
	Explain string          `json:"explain,omitempty"` // decision: one line for people
	Checks  []DecisionCheck `json:"checks,omitempty"`  // decision: what it tested and the values read (explain.go)

	Answer string            `json:"answer,omitempty"`
	Inputs map[string]string `json:"inputs,omitempty"`
	Reason string            `json:"reason,omitempty"`
	Text   string            `json:"text,omitempty"` // note

	Path  string `json:"path,omitempty"`  // collect: remote path
	Bytes int64  `json:"bytes,omitempty"` // collect: stored; result: stdout+stderr bytes the command printed; output: bytes elided before this chunk (journal)
	// Truncated is set on a result whose output was more than the per-step
	// cap (Options.MaxOutput): only its tail was kept, Bytes is the full
	// count; and on a journal output line that follows elided bytes.
	Truncated bool   `json:"truncated,omitempty"`
	Status    string `json:"status,omitempty"` // collect: ok, truncated, error, skipped...

	Error string `json:"error,omitempty"`

	Outcome Outcome `json:"outcome,omitempty"`
	Message string  `json:"message,omitempty"`

	// Results are a step's results that no command event of this visit
	// announces: on step.kept, the results the visit holds from now on (the
	// hosts a rerun for the failed ones kept, or a resumed rollout's hosts
	// already changed); on the decision out of a per-host section, the
	// start step's results over every host. Secrets masked.
	Results []HostResult `json:"results,omitempty"`
	// Paths: the decision out of a per-host section, each host's path.
	Paths []HostPath `json:"paths,omitempty"`
	// Answers: the decision out of a per-host section, the answers every
	// host gave alike (the group's answers).
	Answers map[string]string `json:"answers,omitempty"`
}

// CollectProgress is how far one collected file has been read. It goes to
// Options.OnProgress as the bytes flow, never into the event stream (the
// journal and transcript get one collect event per file when it is done).
type CollectProgress struct {
	Step, Host, Path string
	Read             int64 // bytes delivered so far
	Size             int64 // bytes expected (the tail when truncated); 0 when unknown
}

// CollectPlan is one thing a collect step will gather on one host.
type CollectPlan struct {
	Host     Host
	Files    []string      // globs; empty for a command
	Command  string        // rendered and masked; empty for files
	Since    time.Duration // files: only modified within this window
	MaxBytes int64         // files: per-file cap (the tail is kept)
	Err      string        // the command could not be rendered
}
