// Package redact masks secrets in text before it is written anywhere: command
// outputs, collected text files, the transcript and the report of a bundle.
//
// A Redactor holds the rules (the defaults from DefaultRules, runbook-defined
// patterns and the session's secret parameter values). Copy streams text
// through them line by line with bounded memory (one chunk plus at most
// MaxLine bytes) and reports what it masked (line, rule, count), never the
// values. PEM private key blocks span lines, so Copy carries that state.
//
// Speed matters because a bundle may carry a gigabyte of logs: every rule has
// literal triggers (e.g. "pass", "eyJ", "://") that are necessary for it to
// match; a chunk is searched for the triggers with bytes.Index (SIMD) and the
// regular expressions run only on the lines that contain one.
//
// Copy refuses input it cannot redact safely rather than passing it through:
// a NUL byte (binary data) returns ErrBinary, a line longer than MaxLine
// returns ErrLineTooLong. Callers must then skip or mark the file.
package redact
