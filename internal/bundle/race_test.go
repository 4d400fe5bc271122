//go:build race

package bundle

// raceEnabled: the race detector makes the 300 MiB collection case take
// minutes; it runs in the plain `go test` run instead.
const raceEnabled = true
