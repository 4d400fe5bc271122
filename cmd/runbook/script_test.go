package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary double as the `runbook` command, so
// scripts run the real CLI (mainRun) as a separate process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"runbook": func() { os.Exit(mainRun(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar end to end. Runbooks in the
// scripts bind their targets to `local`, so the Local executor runs their
// (harmless) commands for real, in $WORK.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("testdata/script"))
}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"json":     cmdJSON,
			"waitfile": cmdWaitFile,
			"lines":    cmdLines,
		},
	}
}

// exits CODE PROG [ARGS...] runs PROG and requires exactly that exit code;
// stdout and stderr are kept for the next assertions, as with exec.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// json FILE PATH WANT checks one value in a JSON document (FILE may be
// stdout). PATH is dot-separated keys and array indexes (path.0.step);
// a final "length" is the length of an array or object ("#" would start a
// comment in a script). For JSON Lines, FILE
// may be "stdout:last" for the last line.
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: json FILE PATH WANT")
	}
	file, last := strings.CutSuffix(args[0], ":last")
	data := strings.TrimSpace(ts.ReadFile(file))
	if last {
		data = data[strings.LastIndexByte(data, '\n')+1:]
	}
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		ts.Fatalf("json: %s is not JSON: %v", args[0], err)
	}
	got, err := jsonPath(v, args[1])
	if err != nil {
		ts.Fatalf("json: %s: %v", args[1], err)
	}
	if (got == args[2]) == neg {
		ts.Fatalf("json %s = %q, want %s%q", args[1], got, map[bool]string{true: "not ", false: ""}[neg], args[2])
	}
}

func jsonPath(v any, path string) (string, error) {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			if k == "length" {
				return strconv.Itoa(len(x)), nil
			}
			var ok bool
			if v, ok = x[k]; !ok {
				return "<missing>", nil
			}
		case []any:
			if k == "length" {
				return strconv.Itoa(len(x)), nil
			}
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("index %q out of range (%d)", k, len(x))
			}
			v = x[i]
		default:
			return "", fmt.Errorf("%q: not an object or array", k)
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "null", nil
	default:
		b, _ := json.Marshal(x)
		return string(b), nil
	}
}

// waitfile PATH waits (up to a minute) until PATH exists: a background
// runbook has reached the step that creates it.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile PATH")
	}
	p := ts.MkAbs(args[0])
	for range 1200 {
		if _, err := os.Stat(p); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("waitfile: %s never appeared", args[0])
}

// lines FILE N checks that FILE has exactly N lines.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: lines FILE N")
	}
	data := ts.ReadFile(args[0])
	n := strings.Count(data, "\n")
	if strconv.Itoa(n) != args[1] {
		ts.Fatalf("%s has %d lines, want %s:\n%s", args[0], n, args[1], data)
	}
}
