package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/ssh"
)

// runOptions are the flags of `runbook run`.
type runOptions struct {
	runbook   string
	targets   []string // ROLE=HOST
	params    []string // NAME=VALUE
	auto      bool
	dryRun    bool
	answers   []string // STEP=CHOICE
	allowFix  bool
	allowDest bool
	assume    []string
	output    string
	startAt   string

	stdin          io.Reader
	stdout, stderr io.Writer
	// remote runs steps on hosts other than `local`. When nil, newRemote
	// builds the SSH transport from sshOpts; demo sets it to its simulated fleet.
	remote engine.Executor

	ssh    sshOptions    // run_ssh.go
	ui     uiOptions     // run_tui.go
	bundle bundleOptions // run_bundle.go
}

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run RUNBOOK",
		Short: "Walk a runbook (a file or an id) against real hosts",
		Long: `Walk a runbook against the hosts you bind to its targets.

With a terminal, runbook opens the interactive TUI. With --auto, or when stdin
or stdout is not a terminal, it runs unattended: every ask is answered by its
declared auto policy or by --answer, fixes run only with --allow-fix
(destructive ones also need --allow-destructive), and manual steps stop unless
--assume-done names them.

Exit codes:
  0    resolved
  1    runtime failure (transport, internal)
  2    usage error or invalid runbook
  3    ended escalated
  4    needs a human (an ask with auto: stop, a refused fix, a manual step)
  5    ended aborted
  130  interrupted`,
		Example: `  runbook run local-disk-health --target host=local --auto
  runbook run mrs-alm-45641 --target active=root@10.0.0.5 --target standby=root@10.0.0.6
  runbook run ./my.yaml --target web=local --param limit=80 --auto --output json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunbooks,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.runbook = args[0]
			o.stdin, o.stdout, o.stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.targets, "target", "t", nil, "bind a role to a host: ROLE=[user@]host[:port], ROLE=ssh-alias or ROLE=local (repeat for groups)")
	f.StringArrayVarP(&o.params, "param", "p", nil, "set a param: NAME=VALUE (repeatable)")
	f.BoolVar(&o.auto, "auto", false, "run unattended (no prompts)")
	f.BoolVar(&o.dryRun, "dry-run", false, "run only read-only probes; show what fixes and collects would do")
	f.StringArrayVar(&o.answers, "answer", nil, "answer an ask in --auto: STEP=CHOICE (step id or ref; repeatable)")
	f.BoolVar(&o.allowFix, "allow-fix", false, "let --auto run fix steps")
	f.BoolVar(&o.allowDest, "allow-destructive", false, "let --auto run destructive fix steps (with --allow-fix)")
	f.StringArrayVar(&o.assume, "assume-done", nil, "treat a manual step as done in --auto (repeatable)")
	f.StringVarP(&o.output, "output", "o", "text", "result format for --auto: text, json or jsonl")
	f.StringVar(&o.startAt, "start-at", "", "start at this step (id or ref) instead of the first")
	addSSHFlags(f, &o.ssh)
	addUIFlags(f, &o.ui)
	addBundleFlags(f, &o.bundle)
	return cmd
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

func runRun(ctx context.Context, o *runOptions) error {
	rb, err := loadRunbook(o.runbook)
	if err != nil {
		return err
	}
	switch o.output {
	case "text", "json", "jsonl":
	default:
		return usageErr("--output must be text, json or jsonl")
	}
	targets, err := parseTargets(o.targets)
	if err != nil {
		return err
	}
	params, err := parseKV(o.params, "--param")
	if err != nil {
		return err
	}
	answers, err := parseKV(o.answers, "--answer")
	if err != nil {
		return err
	}
	pol := auto.Policy{Answers: answers, AllowFix: o.allowFix, AllowDestructive: o.allowDest, AssumeDone: map[string]bool{}}
	for _, s := range o.assume {
		pol.AssumeDone[s] = true
	}
	remote := o.remote
	if remote == nil {
		r, closeRemote, err := newRemote(ctx, o)
		if err != nil {
			return err
		}
		defer closeRemote()
		remote = r
	}
	var events []func(engine.Event)
	if o.output == "jsonl" {
		enc := json.NewEncoder(o.stdout)
		events = append(events, func(e engine.Event) { _ = enc.Encode(e) })
	}
	sopts := engine.Options{
		Executor: router{local: ssh.Local{}, remote: remote},
		Targets:  targets,
		Params:   params,
		DryRun:   o.dryRun,
		StartAt:  o.startAt,
		OnEvent: func(e engine.Event) {
			for _, f := range events {
				f(e)
			}
		},
	}
	if !o.auto && isTerminal(o.stdin, o.stdout) {
		return runInteractive(ctx, o, rb, sopts)
	}
	s, err := engine.NewSession(rb, sopts)
	if err != nil {
		return usageErr("%v", err)
	}
	res := auto.Run(ctx, s, pol, o.stderr)
	res.DryRun = o.dryRun
	switch o.output {
	case "json":
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	case "text":
		printResult(o.stdout, res)
	}
	if code := res.Outcome.ExitCode(); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

func printResult(w io.Writer, res *auto.Result) {
	fmt.Fprintf(w, "%s: %s\n", res.Runbook, res.Outcome)
	if res.Message != "" {
		fmt.Fprintln(w, res.Message)
	}
	fmt.Fprintln(w, "path taken:")
	for i, p := range res.Path {
		ref := p.Ref
		if ref == "" {
			ref = "-"
		}
		line := fmt.Sprintf("  %2d. %-4s %s", i+1, ref, p.Step)
		if p.Decision != nil && p.Decision.Explain != "" {
			line += "  (" + p.Decision.Explain + ")"
		}
		fmt.Fprintln(w, line)
	}
	if res.Stopped != nil {
		fmt.Fprintf(w, "needs a human at %s: %s\n  %s\n", res.Stopped.Step, res.Stopped.Question, res.Stopped.Reason)
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", e)
	}
}
