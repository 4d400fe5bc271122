// Package bundle writes and checks the archive an on-call engineer hands to
// the next level of support: runbook-<id>-<UTC time>.tar.gz with a detached
// .sha256 beside it.
//
// A Writer implements engine.Collector (collect steps stream files and
// command outputs into it) and takes every session event (Event), then Close
// finalises the archive: transcript.jsonl (hash-chained), report.md,
// redactions.json, manifest.json and manifest.sha256, in that order after the
// collected hosts/<host>/files/... and hosts/<host>/commands/... members.
//
// Streaming: a file's bytes go from the executor's reader through redaction
// into the compressor without being held whole or copied to disk. tar needs a
// member's size before its bytes, and redaction changes sizes, so text files
// are read twice when the reader can seek (Local files, SFTP files, in-memory
// scenario files): the first pass counts the redacted size into io.Discard
// and refuses what cannot be redacted (binary, over-long lines) before any
// byte is written; the second writes. A file without matches is copied raw on
// the second pass. Readers that cannot seek are spooled in memory up to
// SpoolBytes, else skipped and recorded.
//
// Compression: parallel gzip (klauspost/pgzip). Members that are already
// compressed (.gz, .zst, .xz, .bz2, .zip, by name or magic) go into their own
// gzip member written with stored (level 0) deflate blocks: a concatenation of
// gzip members is one valid gzip stream (RFC 1952 §2.2) that tar, gzip and Go
// read transparently, so they cost a CRC and a copy, not a recompression.
//
// Always a bundle: the writer closes a gzip member at checkpoints (member
// boundaries at least every CheckpointBytes) and remembers the file offset and
// the digest state there. A write error (a full disk) truncates the partial
// archive back to the last checkpoint, marks what was lost, and finalises from
// there with the archive marked incomplete. Close ignores cancellation: it is
// bounded local work. The archive is written as <name>.partial and renamed
// only when complete; every failure path removes it.
package bundle
