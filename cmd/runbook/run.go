package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/journal"
	"github.com/runbook-dev/runbook/internal/ssh"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// runOptions are the flags of `runbook run` (and `runbook resume`).
type runOptions struct {
	runbook     string
	targets     []string // ROLE=HOST
	params      []string // NAME=VALUE
	auto        bool
	dryRun      bool
	answers     []string // STEP=CHOICE
	answersFile string
	inputs      []string // STEP.NAME=VALUE
	captures    []string // STEP.NAME=VALUE
	allowFix    bool
	allowDest   bool
	assume      []string
	output      string
	startAt     string

	stdin          io.Reader
	stdout, stderr io.Writer
	// remote runs steps on hosts other than `local`. When nil, newRemote
	// builds the SSH transport from sshOpts; demo sets it to its simulated fleet.
	remote engine.Executor
	// clock drives wait steps; nil is the real clock. demo sets a scaled one
	// so simulated waits of minutes pass in seconds.
	clock engine.Clock

	ssh    sshOptions    // run_ssh.go
	ui     uiOptions     // run_tui.go
	bundle bundleOptions // run_bundle.go
}

const exitCodesHelp = `Exit codes (unattended runs):
  0    resolved
  1    runtime failure (transport, internal, a runbook bug found while running)
  2    usage error, invalid runbook, or values --start-at needs are missing
  3    ended escalated
  4    needs a human (an ask with auto: stop or no answer, a refused fix,
       a manual step not assumed done); the output names the step
  5    ended aborted
  130  interrupted (SIGINT/SIGTERM); resume with runbook resume ID`

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run RUNBOOK",
		Short: "Walk a runbook (a file or an id) against real hosts",
		Long: `Walk a runbook against the hosts you bind to its targets.

With a terminal, runbook opens the interactive TUI. With --auto, or when stdin
or stdout is not a terminal, it runs unattended: every ask is answered by
--answer, an --answers file, or its declared auto policy; fixes run only with
--allow-fix (destructive ones also need --allow-destructive); manual steps
stop unless --assume-done names them. Progress goes to stderr, one line per
step; the result goes to stdout (--output text, json or jsonl).

--dry-run runs only read-only probes (run steps, wait probes once) and shows
what each fix and collect would do, without doing it.

Every session is journaled to $XDG_STATE_HOME/runbook/sessions/ID.jsonl;
list them with runbook sessions and continue one with runbook resume ID.

` + exitCodesHelp,
		Example: `  runbook run local-disk-health --target host=local --auto
  runbook run local-disk-health --target host=local --auto --output json | jq .outcome
  runbook run mrs-alm-45641 --target active=root@10.0.0.5 --target standby=root@10.0.0.6
  runbook run ./my.yaml --target web=local --auto --answers answers.yaml --allow-fix
  runbook run ./my.yaml --target web=local --auto --start-at 6 --capture check.used=93`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunbooks,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.runbook = args[0]
			o.stdin, o.stdout, o.stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	addDriverFlags(f, o)
	f.BoolVar(&o.dryRun, "dry-run", false, "run only read-only probes; show what fixes and collects would do")
	f.StringVar(&o.startAt, "start-at", "", "start at this step (id or ref) instead of the first")
	f.StringArrayVar(&o.captures, "capture", nil, "with --start-at, a value an earlier step would have captured: STEP.NAME=VALUE (repeatable)")
	addSSHFlags(f, &o.ssh)
	addUIFlags(f, &o.ui)
	addBundleFlags(f, &o.bundle)
	return cmd
}

// addDriverFlags registers the flags `run` and `resume` share.
func addDriverFlags(f *pflag.FlagSet, o *runOptions) {
	f.StringArrayVarP(&o.targets, "target", "t", nil, "bind a role to a host: ROLE=[user@]host[:port], ROLE=ssh-alias or ROLE=local (repeat for groups)")
	f.StringArrayVarP(&o.params, "param", "p", nil, "set a param: NAME=VALUE (repeatable)")
	f.BoolVar(&o.auto, "auto", false, "run unattended (no prompts)")
	f.StringArrayVar(&o.answers, "answer", nil, "answer an ask (or a manual step with \"done\") in --auto: STEP=CHOICE (step id or ref; repeatable)")
	f.StringVar(&o.answersFile, "answers", "", "YAML or JSON file of answers: STEP: CHOICE, or STEP: {INPUT: VALUE} for a fix's inputs")
	f.StringArrayVar(&o.inputs, "input", nil, "a fix input in --auto: STEP.NAME=VALUE (repeatable)")
	f.BoolVar(&o.allowFix, "allow-fix", false, "let --auto run fix steps")
	f.BoolVar(&o.allowDest, "allow-destructive", false, "let --auto run destructive fix steps (with --allow-fix)")
	f.StringArrayVar(&o.assume, "assume-done", nil, "treat a manual step as done in --auto (repeatable)")
	f.StringVarP(&o.output, "output", "o", "text", "result format for --auto: text, json (one object) or jsonl (events, then the result)")
}

func parseKV(list []string, what string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErr("%s %q: want NAME=VALUE", what, kv)
		}
		out[k] = v
	}
	return out, nil
}

// parseStepKV parses STEP.NAME=VALUE (a step id may itself contain dots, so
// the last dot before '=' separates the name).
func parseStepKV(list []string, what string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		i := strings.LastIndexByte(k, '.')
		if !ok || i <= 0 || i == len(k)-1 {
			return nil, usageErr("%s %q: want STEP.NAME=VALUE", what, kv)
		}
		step, name := k[:i], k[i+1:]
		if out[step] == nil {
			out[step] = map[string]string{}
		}
		out[step][name] = v
	}
	return out, nil
}

func parseTargets(list []string) (map[string][]engine.Host, error) {
	out := map[string][]engine.Host{}
	for _, kv := range list {
		role, host, ok := strings.Cut(kv, "=")
		if !ok || role == "" || host == "" {
			return nil, usageErr("--target %q: want ROLE=HOST (e.g. active=root@10.0.0.5 or host=local)", kv)
		}
		out[role] = append(out[role], engine.Host{Role: role, Name: host})
	}
	return out, nil
}

// router sends `local` hosts to the local executor and the rest to remote.
type router struct {
	local  engine.Executor
	remote engine.Executor
}

func (r router) pick(h engine.Host) (engine.Executor, error) {
	if h.IsLocal() {
		return r.local, nil
	}
	if r.remote == nil {
		return nil, fmt.Errorf("%s: no transport for remote hosts configured", h.Name)
	}
	return r.remote, nil
}

func (r router) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	ex, err := r.pick(h)
	if err != nil {
		return engine.CommandResult{Exit: -1}, err
	}
	return ex.Run(ctx, h, req, stdout, stderr)
}

func (r router) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, c engine.Collector) error {
	ex, err := r.pick(h)
	if err != nil {
		return err
	}
	return ex.Fetch(ctx, h, req, c)
}

func isTerminal(r io.Reader, w io.Writer) bool {
	in, ok1 := r.(*os.File)
	out, ok2 := w.(*os.File)
	return ok1 && ok2 && isatty.IsTerminal(in.Fd()) && isatty.IsTerminal(out.Fd())
}

func (o *runOptions) interactive() bool { return !o.auto && isTerminal(o.stdin, o.stdout) }

func checkOutput(o *runOptions) error {
	switch o.output {
	case "text", "json", "jsonl":
		return nil
	}
	return usageErr("--output must be text, json or jsonl")
}

// buildPolicy gathers --answer, --answers, --input, --allow-*, --assume-done
// and checks them against the runbook, so a typo fails before anything runs.
func buildPolicy(o *runOptions, rb *engine.Runbook) (auto.Policy, error) {
	pol := auto.Policy{Answers: map[string]string{}, Inputs: map[string]map[string]string{}, AssumeDone: map[string]bool{},
		AllowFix: o.allowFix, AllowDestructive: o.allowDest, DryRun: o.dryRun}
	if o.answersFile != "" {
		a, in, err := auto.LoadAnswers(o.answersFile)
		if err != nil {
			return pol, usageErr("--answers: %v", err)
		}
		pol.Answers, pol.Inputs = a, in
	}
	flags, err := parseKV(o.answers, "--answer")
	if err != nil {
		return pol, err
	}
	for k, v := range flags { // flags override the file
		pol.Answers[k] = v
	}
	inputs, err := parseStepKV(o.inputs, "--input")
	if err != nil {
		return pol, err
	}
	for step, m := range inputs {
		if pol.Inputs[step] == nil {
			pol.Inputs[step] = map[string]string{}
		}
		for k, v := range m {
			pol.Inputs[step][k] = v
		}
	}
	for _, s := range o.assume {
		pol.AssumeDone[s] = true
	}
	if err := pol.Check(rb); err != nil {
		return pol, usageErr("%v", err)
	}
	return pol, nil
}

func runRun(ctx context.Context, o *runOptions) error {
	if err := checkOutput(o); err != nil {
		return err
	}
	rb, err := loadRunbook(o.runbook)
	if err != nil {
		return err
	}
	targets, err := parseTargets(o.targets)
	if err != nil {
		return err
	}
	params, err := parseKV(o.params, "--param")
	if err != nil {
		return err
	}
	captures, err := parseStepKV(o.captures, "--capture")
	if err != nil {
		return err
	}
	pol, err := buildPolicy(o, rb)
	if err != nil {
		return err
	}
	sopts := engine.Options{Targets: targets, Params: params, DryRun: o.dryRun, StartAt: o.startAt, Captures: captures}
	if o.startAt != "" {
		if rb.Step(o.startAt) == nil {
			return usageErr("--start-at %q: no such step", o.startAt)
		}
		if missing := engine.MissingAtStart(rb, o.startAt, captures); len(missing) > 0 {
			if !o.interactive() {
				return missingErr(o.startAt, missing)
			}
			if sopts.Captures, err = askMissing(o, captures, missing); err != nil {
				return err
			}
		}
	} else if len(captures) > 0 {
		return usageErr("--capture is for --start-at: a session from the first step captures its own values")
	}
	// Validate targets and params before a journal exists for a session
	// that cannot start.
	if _, err := engine.NewSession(rb, sopts); err != nil {
		return usageErr("%v", err)
	}
	now := time.Now()
	h := journal.Header{
		ID: journal.NewID(rb.ID, now), Runbook: rb.ID, Title: rb.Title, File: rb.File, SHA256: rb.SHA256,
		Source: string(rb.Raw), Targets: hostNames(targets), Params: publicParams(rb, params),
		Captures: flatCaptures(sopts.Captures), StartAt: o.startAt, DryRun: o.dryRun, Started: now, PID: os.Getpid(),
	}
	h.Hostname, _ = os.Hostname()
	jw, err := journal.Create(journal.Dir(), h)
	if err != nil {
		// Losing the journal must not stop a 3 a.m. run; say so loudly.
		fmt.Fprintf(o.stderr, "runbook: warning: no session journal (resume will not be possible): %v\n", err)
	}
	return drive(ctx, o, rb, sopts, pol, jw, h.ID, false)
}

func hostNames(t map[string][]engine.Host) map[string][]string {
	out := map[string][]string{}
	for role, hs := range t {
		for _, h := range hs {
			out[role] = append(out[role], h.Name)
		}
	}
	return out
}

// publicParams are the params to journal: secrets stay out of files.
func publicParams(rb *engine.Runbook, params map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		if p := rb.Param(k); p != nil && !p.Secret {
			out[k] = v
		}
	}
	return out
}

func flatCaptures(c map[string]map[string]string) map[string]string {
	out := map[string]string{}
	for step, m := range c {
		for k, v := range m {
			out[step+"."+k] = v
		}
	}
	return out
}

func missingErr(start string, missing []engine.ValueRef) error {
	var lines []string
	for _, m := range missing {
		lines = append(lines, fmt.Sprintf("  %s (read by step %s)", m, m.UsedBy))
	}
	return usageErr("--start-at %s skips steps whose values later steps need:\n%s\npass each with --capture STEP.NAME=VALUE",
		start, strings.Join(lines, "\n"))
}

// askMissing asks on the terminal for the values --start-at skipped.
func askMissing(o *runOptions, given map[string]map[string]string, missing []engine.ValueRef) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for step, m := range given {
		out[step] = m
	}
	in := bufio.NewScanner(o.stdin)
	fmt.Fprintf(o.stderr, "Starting mid-procedure: these values come from steps that will not run.\n")
	for _, m := range missing {
		fmt.Fprintf(o.stderr, "%s (read by %s): ", untrusted.SanitizeLine(m.String()), untrusted.SanitizeLine(m.UsedBy))
		if !in.Scan() {
			return nil, missingErr(o.startAt, missing)
		}
		if out[m.Step] == nil {
			out[m.Step] = map[string]string{}
		}
		out[m.Step][m.Name] = strings.TrimSpace(in.Text())
	}
	return out, nil
}

// drive runs a new or restored session: the TUI on a terminal, else the
// unattended driver. jw (may be nil) receives every event.
func drive(ctx context.Context, o *runOptions, rb *engine.Runbook, sopts engine.Options, pol auto.Policy, jw *journal.Writer, id string, resumed bool) error {
	remote := o.remote
	if remote == nil {
		r, closeRemote, err := newRemote(ctx, o)
		if err != nil {
			closeJournal(o, jw, nil)
			return err
		}
		defer closeRemote()
		remote = r
	}
	sopts.Executor = router{local: ssh.Local{}, remote: remote}
	if o.clock != nil {
		sopts.Clock = o.clock
	}
	interactive := o.interactive()
	var sinks []func(engine.Event)
	if jw != nil {
		sinks = append(sinks, jw.Event)
	}
	if !interactive {
		sinks = append(sinks, auto.NewProgress(o.stderr, rb).Event)
	}
	var jsonl *json.Encoder
	if o.output == "jsonl" && !interactive {
		jsonl = json.NewEncoder(o.stdout)
		jsonl.SetEscapeHTML(false)
		sinks = append(sinks, func(e engine.Event) { _ = jsonl.Encode(e) })
	}
	if interactive && o.bundle.path == "" {
		dir, err := defaultBundleDir()
		if err != nil {
			closeJournal(o, jw, nil)
			return &exitError{code: auto.ExitFailure, err: err}
		}
		o.bundle.path = dir
	}
	b, err := startBundle(ctx, o, rb, &sopts, &sinks) // run_bundle.go
	if err != nil {
		closeJournal(o, jw, nil)
		return err
	}
	if b != nil {
		o.ui.export = b.export
	}
	sopts.OnEvent = func(e engine.Event) {
		for _, f := range sinks {
			f(e)
		}
	}
	if interactive {
		err := runInteractive(ctx, o, rb, sopts)
		b.close(ctx, o, err)
		closeJournal(o, jw, nil)
		return err
	}
	if jw != nil {
		fmt.Fprintf(o.stderr, "session %s\n", id)
	}
	s, err := engine.NewSession(rb, sopts)
	if err != nil {
		b.close(ctx, o, err)
		closeJournal(o, jw, nil)
		return usageErr("%v", err)
	}
	b.sessionStarted(s)
	res := auto.Run(ctx, s, pol)
	b.finish(ctx, o, res)
	res.DryRun, res.Resumed = sopts.DryRun, resumed
	if jw != nil {
		res.Session, res.Journal = id, jw.Path()
	}
	if ended, _, _ := s.Ended(); !ended && jw != nil {
		step, reason := "", strings.Join(res.Errors, "; ")
		if res.Stopped != nil {
			step, reason = res.Stopped.Step, res.Stopped.Reason
		} else if cur := s.Current(); cur != nil {
			step = cur.ID
		}
		jw.Stop(string(res.Outcome), step, reason, time.Now())
	}
	closeJournal(o, jw, res)
	switch o.output {
	case "json":
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		printStop(o.stderr, res)
	case "jsonl":
		if err := jsonl.Encode(struct {
			Type string `json:"type"`
			*auto.Result
		}{"result", res}); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		printStop(o.stderr, res)
	default:
		printResult(o.stdout, res)
	}
	if res.ExitCode != 0 {
		return &exitError{code: res.ExitCode}
	}
	return nil
}

func closeJournal(o *runOptions, jw *journal.Writer, res *auto.Result) {
	if jw == nil {
		return
	}
	if err := jw.Close(); err != nil {
		fmt.Fprintf(o.stderr, "runbook: warning: session journal: %v\n", err)
		if res != nil {
			res.Errors = append(res.Errors, "journal: "+err.Error())
		}
	}
}

// printStop tells people on stderr why a machine-readable run stopped.
func printStop(w io.Writer, res *auto.Result) {
	if res.Stopped != nil {
		fmt.Fprintf(w, "needs a human at %s: %s\n", untrusted.SanitizeLine(res.Stopped.Step), untrusted.SanitizeLine(res.Stopped.Reason))
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", untrusted.SanitizeLine(e))
	}
}

func printResult(w io.Writer, res *auto.Result) {
	clean := untrusted.SanitizeLine
	title := res.Runbook
	if res.DryRun {
		title += " (dry run: fixes and collects simulated)"
	}
	fmt.Fprintf(w, "%s: %s\n", clean(title), res.Outcome)
	if res.Message != "" {
		fmt.Fprintln(w, untrusted.Sanitize(res.Message))
	}
	fmt.Fprintln(w, "path taken:")
	for i, p := range res.Path {
		ref := p.Ref
		if ref == "" {
			ref = "-"
		}
		line := fmt.Sprintf("  %2d. %-4s %s", i+1, clean(ref), clean(p.Step))
		if p.Simulated {
			line += "  [simulated]"
		}
		if p.Interrupted {
			line += "  [interrupted]"
		}
		if p.Decision != nil && p.Decision.Explain != "" {
			line += "  (" + clean(p.Decision.Explain) + ")"
		}
		fmt.Fprintln(w, line)
	}
	if res.Stopped != nil {
		fmt.Fprintf(w, "needs a human at %s: %s\n  %s\n", clean(res.Stopped.Step), clean(res.Stopped.Question), clean(res.Stopped.Reason))
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", clean(e))
	}
	if res.Session != "" && res.Outcome != auto.Resolved && res.Outcome != auto.Escalated && res.Outcome != auto.Aborted {
		fmt.Fprintf(w, "resume with: runbook resume %s\n", res.Session)
	}
}
