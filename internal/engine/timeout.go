package engine

import "time"

// TimedOutText is how every surface says a command hit its timeout
// ("timed out after 30s"): collect events, the --auto summary, the
// bundle's manifest entry and report.
func TimedOutText(d time.Duration) string {
	if d <= 0 {
		return "timed out"
	}
	return "timed out after " + shortDuration(d)
}
