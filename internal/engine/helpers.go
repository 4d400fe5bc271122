package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
)

// Helper documents one function expressions and templates may call. The
// list below is the single source of docs/language.md's helper reference: a
// test fails when a registered function is missing from it, when an example
// does not give its stated result, or when the document is stale.
type Helper struct {
	Name      string
	Signature string
	Doc       string
	Example   string // an expression over ExampleEnv
	Result    string // what Example gives, as a template would print it
	Group     string // "runbook" (ours) or "expr" (the expression language's own)
}

// Helpers lists every documented helper, in the order the reference shows them.
func Helpers() []Helper {
	return []Helper{
		// text from probes
		{Name: "lines", Signature: "lines(text) list", Group: "runbook",
			Doc:     "Splits output into lines, without the trailing newline or carriage returns.",
			Example: `len(lines("a\nb\n"))`, Result: "2"},
		{Name: "num", Signature: "num(text) float", Group: "runbook",
			Doc:     "Parses a number; text that is not one gives NaN, which compares false with everything.",
			Example: `num(" 42.5 ") > 40`, Result: "true"},
		{Name: "percent", Signature: "percent(text) float", Group: "runbook",
			Doc:     "Parses `93%` (or `93`) as 93; fails on anything else.",
			Example: `percent("93%") >= 90`, Result: "true"},
		{Name: "bytes", Signature: "bytes(size) int", Group: "runbook",
			Doc:     "Parses a size such as `512KiB`, `1.5G` or `2048` into bytes.",
			Example: `bytes("1.5KiB")`, Result: "1536"},
		{Name: "hex", Signature: "hex(number) string", Group: "runbook",
			Doc:     "Formats a whole number (an integer, a JSON integer kept at full uint64 precision, or decimal text) as lowercase hexadecimal: `etcdctl member remove` wants the hex ID that `member list -w json` prints in decimal.",
			Example: `hex("10501334649042878790")`, Result: "91bc3c398fb3c146"},
		{Name: "fromJSON", Signature: "fromJSON(text) any", Group: "runbook",
			Doc:     "Parses JSON. Integers stay exact: those that fit int64 are ints, larger ones uint64 (etcd member IDs), only fractions become floats. A capture with `json: object` does this for you.",
			Example: `hex(fromJSON(stdout).members[0].ID)`, Result: "91bc3c398fb3c146"},
		{Name: "toJSON", Signature: "toJSON(value) string", Group: "expr",
			Doc:     "Encodes a value as indented JSON.",
			Example: `toJSON([1, 2])`, Result: "[\n  1,\n  2\n]"},
		{Name: "has", Signature: "has(capture) bool", Group: "runbook",
			Doc:     "True when the capture matched (a capture that did not match has no value, which is not the empty string): guard conversions with `has(used) && int(used) >= 90`.",
			Example: `has(params.alarm_time)`, Result: "true"},
		// time
		{Name: "now", Signature: "now() time", Group: "runbook",
			Doc:     "The session clock's current time (scenarios and tests set it), not the wall clock of the machine evaluating the expression.",
			Example: `now().Format("15:04")`, Result: "03:00"},
		{Name: "date", Signature: "date(text[, layout[, zone]]) time", Group: "expr",
			Doc:     "Parses a time: `2006-01-02 15:04:05`, `2006-01-02`, RFC 3339 and others, or the Go layout given. Times without a zone are UTC.",
			Example: `date("2026-11-28 03:12:00").Format("Jan 2 15:04")`, Result: "Nov 28 03:12"},
		{Name: "duration", Signature: "duration(text) duration", Group: "expr",
			Doc:     "Parses a Go duration (`90s`, `10m`, `1h30m`); times and durations add and subtract. In a run step's branches and `until`, `duration` is the step's run time: use `parseDuration` there.",
			Example: `(date("2026-11-28 03:12:00") - duration("10m")).Format("15:04")`, Result: "03:02"},
		{Name: "around", Signature: "around(time, width) {from, to}", Group: "runbook",
			Doc:     "The window of `width` (a duration or its text) either side of a time, as `.from` and `.to`: the log window around an alarm. `since` in a collect item takes a time too.",
			Example: `around(date(params.alarm_time), "10m").from.Format("2006-01-02 15:04:05")`, Result: "2026-11-28 03:02:00"},
		{Name: "parseDuration", Signature: "parseDuration(text) duration", Group: "runbook",
			Doc:     "Parses a duration (`90s`, `10m`, `1h30m`, `2d`) like `duration(text)`, but works everywhere: in a run step's branches and `until`, `duration` is the step's own run time in seconds, which hides the built-in `duration()`.",
			Example: `(date("2026-11-28 03:12:00") - parseDuration("10m")).Format("15:04")`, Result: "03:02"},
		{Name: "timeFormat", Signature: "timeFormat(time, layout) string", Group: "runbook",
			Doc:     "Formats a time with a Go layout (the same as `t.Format(layout)`), for file names such as `app-2006-01-02.log`.",
			Example: `timeFormat(date(params.alarm_time), "app-20060102.log")`, Result: "app-20261128.log"},
		// the session
		{Name: "visits", Signature: "visits(step) int", Group: "runbook",
			Doc:     "How many times the step (id or ref) has been entered so far in this session, the current visit included: a guard for \"repeat steps 9 and 10 once, then go to 17\".",
			Example: `visits("check") < 2`, Result: "true"},
		// lists and text
		{Name: "split", Signature: "split(text, sep[, n]) list", Group: "expr",
			Doc: "Splits text at every sep.", Example: `split("a,b,c", ",")[1]`, Result: "b"},
		{Name: "join", Signature: "join(list[, sep]) string", Group: "expr",
			Doc: "Joins a list of strings.", Example: `join(["a", "b"], "+")`, Result: "a+b"},
		{Name: "trim", Signature: "trim(text[, chars]) string", Group: "expr",
			Doc: "Removes surrounding blanks (or chars).", Example: `trim("  up  ")`, Result: "up"},
		{Name: "upper", Signature: "upper(text) string", Group: "expr",
			Doc: "Upper-cases text; `lower` is its opposite.", Example: `upper("ok")`, Result: "OK"},
		{Name: "lower", Signature: "lower(text) string", Group: "expr",
			Doc: "Lower-cases text.", Example: `lower("PASSED")`, Result: "passed"},
		{Name: "int", Signature: "int(value) int", Group: "expr",
			Doc: "Converts text or a number to an integer; fails on text that is not one.", Example: `int("42") + 1`, Result: "43"},
		{Name: "float", Signature: "float(value) float", Group: "expr",
			Doc: "Converts text or a number to a float.", Example: `float("2.5") * 2`, Result: "5"},
		{Name: "string", Signature: "string(value) string", Group: "expr",
			Doc: "Converts a value to text.", Example: `string(42) + "%"`, Result: "42%"},
		{Name: "len", Signature: "len(list|map|text) int", Group: "expr",
			Doc: "Length of a list, map or text.", Example: `len(["a", "b"])`, Result: "2"},
		{Name: "filter", Signature: "filter(list, predicate) list", Group: "expr",
			Doc: "Keeps the items for which the predicate holds; `#` is the item, `.field` one of its fields. On a group, `results` has one entry per host: `filter(results, .exit != 0)` are the hosts that failed.", Example: `join(map(filter(results, .exit != 0), .host), ",")`, Result: "node-3"},
		{Name: "map", Signature: "map(list, expression) list", Group: "expr",
			Doc: "Transforms every item; `#` (or `.field`) is the item.", Example: `join(map(disks, .slot), " ")`, Result: "0 1 2"},
		{Name: "all", Signature: "all(list, predicate) bool", Group: "expr",
			Doc: "True when the predicate holds for every item (every host of a group, over `results`).", Example: `all(results, .exit == 0)`, Result: "false"},
		{Name: "any", Signature: "any(list, predicate) bool", Group: "expr",
			Doc: "True when the predicate holds for at least one item.", Example: `any(results, .state == "standby")`, Result: "true"},
		{Name: "none", Signature: "none(list, predicate) bool", Group: "expr",
			Doc: "True when the predicate holds for no item: `none(results, .timed_out)`.", Example: `none(results, .state == "down")`, Result: "true"},
		{Name: "count", Signature: "count(list, predicate) int", Group: "expr",
			Doc: "How many items the predicate holds for: `count(results, .exit != 0) <= 1` tolerates one failed host.", Example: `count(results, .state == "active")`, Result: "2"},
		{Name: "find", Signature: "find(list, predicate) item", Group: "expr",
			Doc: "The first item the predicate holds for (nil when none).", Example: `find(disks, .state == "Failed").slot`, Result: "1"},
		{Name: "first", Signature: "first(list) item", Group: "expr",
			Doc: "The first item (nil for an empty list); `last` is the last.", Example: `first(disks).slot`, Result: "0"},
		{Name: "last", Signature: "last(list) item", Group: "expr",
			Doc: "The last item.", Example: `last(disks).slot`, Result: "2"},
		{Name: "let", Signature: "let name = value; expression", Group: "expr",
			Doc: "Names a value inside one expression.", Example: `let bad = filter(disks, .state == "Failed"); len(bad) == 1`, Result: "true"},
	}
}

// ExampleEnv is the env every Helper example is evaluated in.
func ExampleEnv() Env {
	clock := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	disks := []any{
		map[string]any{"slot": "0", "state": "Online", "size": "3.637 TB"},
		map[string]any{"slot": "1", "state": "Failed", "size": "3.637 TB"},
		map[string]any{"slot": "2", "state": "Online", "size": "3.637 TB"},
	}
	return Env{
		"params": map[string]any{"alarm_time": "2026-11-28 03:12:00"},
		"stdout": `{"members":[{"ID":10501334649042878790,"name":"master-1"}]}`,
		"disks":  disks,
		// a group step on three hosts with a `state` capture
		"results": []any{
			map[string]any{"host": "node-1", "exit": 0, "state": "active", "timed_out": false, "error": ""},
			map[string]any{"host": "node-2", "exit": 0, "state": "active", "timed_out": false, "error": ""},
			map[string]any{"host": "node-3", "exit": 3, "state": "standby", "timed_out": false, "error": ""},
		},
		"now":    func() time.Time { return clock },
		"visits": func(string) int { return 1 },
	}
}

// langOptions are the helpers added by the runbook language on top of
// exprOptions: the registry above documents both.
func langOptions() []expr.Option {
	return []expr.Option{
		expr.Function("hex", func(args ...any) (any, error) { return hexOf(args[0]) },
			new(func(string) string), new(func(int) string), new(func(uint64) string), new(func(float64) string), new(func(any) string)),
		expr.Function("fromJSON", func(args ...any) (any, error) {
			v, err := decodeJSON(toString(args[0]))
			if err != nil {
				return nil, fmt.Errorf("fromJSON: %v", err)
			}
			return v, nil
		}, new(func(string) any)),
		expr.Function("around", func(args ...any) (any, error) {
			t, ok := args[0].(time.Time)
			if !ok {
				return nil, fmt.Errorf("around: want a time, got %T (parse text with date(...))", args[0])
			}
			var w time.Duration
			switch x := args[1].(type) {
			case time.Duration:
				w = x
			case string:
				d, err := ParseDuration(x)
				if err != nil {
					return nil, fmt.Errorf("around: %v", err)
				}
				w = d
			default:
				return nil, fmt.Errorf("around: want a duration, got %T", args[1])
			}
			return map[string]any{"from": t.Add(-w), "to": t.Add(w)}, nil
		}, new(func(time.Time, string) map[string]any), new(func(time.Time, time.Duration) map[string]any)),
		expr.Function("parseDuration", func(args ...any) (any, error) {
			d, err := ParseDuration(toString(args[0]))
			if err != nil {
				return nil, fmt.Errorf("parseDuration: %v", err)
			}
			return d, nil
		}, new(func(string) time.Duration)),
		expr.Function("timeFormat", func(args ...any) (any, error) {
			t, ok := args[0].(time.Time)
			if !ok {
				return nil, fmt.Errorf("timeFormat: want a time, got %T", args[0])
			}
			return t.Format(toString(args[1])), nil
		}, new(func(time.Time, string) string)),
	}
}

// sessionFuncs are the helpers that read the session: env entries, so that
// a compiled program calls the session it runs in. Lint uses the same
// shapes with stand-in bodies.
func sessionFuncs(now func() time.Time, visits func(string) int) Env {
	return Env{"now": now, "visits": visits}
}

// HelperReference is the helper section of docs/language.md, generated
// from Helpers (TestLanguageDoc keeps the document equal to it).
func HelperReference() string {
	var b strings.Builder
	for _, group := range []struct{ id, title string }{
		{"runbook", "Helpers of the runbook language"},
		{"expr", "The expression language's own (most used)"},
	} {
		fmt.Fprintf(&b, "### %s\n\n", group.title)
		b.WriteString("| helper | what it does | example | gives |\n|---|---|---|---|\n")
		for _, h := range Helpers() {
			if h.Group != group.id {
				continue
			}
			fmt.Fprintf(&b, "| `%s` | %s | `%s` | `%s` |\n", h.Signature, cell(h.Doc), cell(h.Example), cell(h.Result))
		}
		b.WriteString("\n")
	}
	b.WriteString("Examples run against: `params.alarm_time` = `2026-11-28 03:12:00`, the session clock at `2026-11-28 03:00:00 UTC`, `stdout` = an `etcdctl member list -w json` answer, `disks` = a table capture of three rows (`slot`, `state`, `size`; slot 1 `Failed`), and `results` = a group step on three hosts with a `state` capture (`node-1` and `node-2` exit 0 `active`, `node-3` exit 3 `standby`).\n")
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", `\n`)
}
