package bundle

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// FormatVersion is the manifest format.
const FormatVersion = 1

// Member names at the top of the archive.
const (
	TranscriptName     = "transcript.jsonl"
	ReportName         = "report.md"
	RedactionsName     = "redactions.json"
	ManifestName       = "manifest.json"
	ManifestDigestName = "manifest.sha256"
)

// Entry statuses.
const (
	StatusOK        = "ok"
	StatusTruncated = "truncated"
	StatusTimeout   = "timeout"
	StatusError     = "error"
	StatusSkipped   = "skipped"
	StatusDenied    = "denied"
)

// Entry kinds.
const (
	KindFile       = "file"
	KindCommand    = "command"
	KindTranscript = "transcript"
	KindReport     = "report"
	KindRedactions = "redactions"
)

// Manifest describes a bundle: what was asked, what was stored, what failed.
type Manifest struct {
	Format      int          `json:"format"`
	Tool        string       `json:"tool"`
	ToolVersion string       `json:"tool_version"`
	Runbook     RunbookInfo  `json:"runbook"`
	Targets     []TargetInfo `json:"targets"`
	Started     time.Time    `json:"started"`
	Ended       time.Time    `json:"ended"`
	Outcome     string       `json:"outcome,omitempty"`
	Message     string       `json:"message,omitempty"`
	// Status is "complete", "partial" (something asked for was not
	// collected: Partial lists what) or "incomplete" (the export or the
	// session was cut short: Incomplete says why).
	Status     string   `json:"status"`
	Incomplete []string `json:"incomplete,omitempty"`
	Partial    []string `json:"partial,omitempty"`
	// Redacted is true, false, or "partial" when some stored member could
	// not be redacted (redactions.json not_redacted lists them).
	Redacted Redacted `json:"redacted"`
	// Pseudonymised: IP addresses and host names are stand-ins
	// (198.18.0.0/15, 2001:db8::/32, hostN.domainN.invalid); the map stayed
	// with the operator.
	Pseudonymised bool    `json:"pseudonymised,omitempty"`
	Limits        Limits  `json:"limits"`
	Entries       []Entry `json:"entries"`
	// Divergence: each host's path through every per-host section, and the
	// hosts grouped by path.
	Divergence []engine.SectionPaths `json:"divergence,omitempty"`
	// TranscriptHead is the hash of the transcript's last line, so that
	// dropping lines from its end shows too.
	TranscriptHead string `json:"transcript_head"`
}

// Bundle statuses.
const (
	BundleComplete   = "complete"
	BundlePartial    = "partial"
	BundleIncomplete = "incomplete"
)

// Redacted says how much of a bundle was redacted.
type Redacted int

const (
	RedactedNone    Redacted = iota // --no-redact
	RedactedAll                     // every stored member
	RedactedPartial                 // some members could not be redacted
)

func (r Redacted) String() string {
	switch r {
	case RedactedAll:
		return "redacted"
	case RedactedPartial:
		return "PARTLY REDACTED"
	}
	return "UNREDACTED"
}

// MarshalJSON writes true, false or "partial".
func (r Redacted) MarshalJSON() ([]byte, error) {
	switch r {
	case RedactedAll:
		return []byte("true"), nil
	case RedactedPartial:
		return []byte(`"partial"`), nil
	}
	return []byte("false"), nil
}

// UnmarshalJSON reads true, false or "partial".
func (r *Redacted) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v {
	case true:
		*r = RedactedAll
	case false:
		*r = RedactedNone
	case "partial":
		*r = RedactedPartial
	default:
		return fmt.Errorf("redacted: want true, false or \"partial\", got %s", b)
	}
	return nil
}

// RunbookInfo identifies the runbook the session walked.
type RunbookInfo struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Source string `json:"source,omitempty"`
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256"`
}

// TargetInfo is one host bound to a role.
type TargetInfo struct {
	Role    string `json:"role"`
	Name    string `json:"name"`
	Host    string `json:"host"`
	User    string `json:"user,omitempty"`
	HostKey string `json:"host_key,omitempty"` // SHA256 fingerprint, when known
	// HostKeyType is the verified key's type (ssh-ed25519, or a certificate).
	HostKeyType string `json:"host_key_type,omitempty"`
	// HostKeyTrust says how it was trusted: known_hosts, cert-authority,
	// accept-new or operator; HostKeyTrustSource the known_hosts file:line
	// (or the file an accepted key was written to).
	HostKeyTrust       string `json:"host_key_trust,omitempty"`
	HostKeyTrustSource string `json:"host_key_trust_source,omitempty"`
	// ClockSkew is remote minus local clock, seconds, when measured. `since`
	// windows are evaluated on the remote clock.
	ClockSkew *float64 `json:"clock_skew,omitempty"`
}

// Limits are the bounds the bundle was written with.
type Limits struct {
	MaxFileBytes    int64 `json:"max_file_bytes"`
	MaxBytes        int64 `json:"max_bytes"`
	CommandMaxBytes int64 `json:"command_max_bytes"`
}

// Entry is one item: a collected file or command, or a generated member.
type Entry struct {
	Kind    string `json:"kind"`
	Member  string `json:"member,omitempty"` // archive member; empty when nothing was stored
	Host    string `json:"host,omitempty"`
	Step    string `json:"step,omitempty"`
	Path    string `json:"path,omitempty"` // remote path (untrusted)
	Command string `json:"command,omitempty"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`

	Exit     *int   `json:"exit,omitempty"`
	Signal   string `json:"signal,omitempty"`
	TimedOut bool   `json:"timed_out,omitempty"` // a command cut off by its timeout

	RemoteSize  int64      `json:"remote_size,omitempty"`
	MTime       *time.Time `json:"mtime,omitempty"`
	Mode        string     `json:"mode,omitempty"`
	Link        string     `json:"link,omitempty"`
	BytesBefore int64      `json:"bytes_before"` // whole file or output
	BytesAfter  int64      `json:"bytes_after"`  // stored, after truncation and redaction
	Padded      int64      `json:"padded,omitempty"`
	// SizeAfter and MTimeAfter are the file's size and mtime when reading
	// ended, when they differ from before; Rotated says how the file
	// changed under us (truncated in place, replaced by another file).
	SizeAfter  int64      `json:"size_after,omitempty"`
	MTimeAfter *time.Time `json:"mtime_after,omitempty"`
	Rotated    string     `json:"rotated,omitempty"`
	SHA256     string     `json:"sha256,omitempty"` // of the stored bytes

	// Redaction is "applied", "disabled", or why it was not possible.
	Redaction  string `json:"redaction,omitempty"`
	Redactions int    `json:"redactions,omitempty"`
}

// RedactionReport is redactions.json: what was masked where, never the values.
type RedactionReport struct {
	Enabled bool            `json:"enabled"`
	Rules   []string        `json:"rules"`
	Totals  map[string]int  `json:"totals"`
	Items   []RedactionItem `json:"items"`
	NotDone []RedactionGap  `json:"not_redacted,omitempty"`
}

// RedactionItem lists the masks in one member.
type RedactionItem struct {
	Member    string         `json:"member"`
	Hits      []RedactionHit `json:"hits"`
	Totals    map[string]int `json:"totals"`
	Truncated bool           `json:"hits_truncated,omitempty"` // Hits stop at redact.MaxHits
}

// RedactionHit is one rule masking Count values on one line (1-based).
type RedactionHit struct {
	Line  int    `json:"line"`
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// RedactionGap is a stored member that could not be redacted, and why.
type RedactionGap struct {
	Member string `json:"member"`
	Reason string `json:"reason"`
}
