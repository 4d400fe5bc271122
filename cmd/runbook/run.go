package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/internal/auto"
	"github.com/runbook-dev/runbook/internal/engine"
	"github.com/runbook-dev/runbook/internal/inventory"
	"github.com/runbook-dev/runbook/internal/run"
	"github.com/runbook-dev/runbook/internal/untrusted"
)

// runOptions are the flags of `runbook run` (and `runbook resume`).
type runOptions struct {
	onlyFailed  bool // resume --only-failed
	runbook     string
	targets     []string // ROLE=HOST
	inventories []string // --inventory FILE
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
	alert       string // --alert FILE|-

	stdin          io.Reader
	stdout, stderr io.Writer

	ssh    sshOptions    // run_ssh.go
	ui     uiOptions     // run_tui.go
	bundle bundleOptions // run_bundle.go
}

const exitCodesHelp = `Exit codes (unattended runs):
  0    resolved
  1    runtime failure (internal, a runbook bug found while running)
  2    usage error, invalid runbook, or values --start-at needs are missing
  3    ended escalated
  4    needs a human (an ask with auto: stop or no answer, a refused fix,
       a manual step not assumed done, a probe that did not answer: exit
       126/127, a signal, a timeout, a transport failure, an expression
       that could not be evaluated); the output names the step and why
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
	f.StringVar(&o.alert, "alert", "", "bind params and targets from an alert (Alertmanager or PagerDuty v3 webhook JSON, or any JSON) as the runbook's alert: section says; FILE or - for stdin. --param and --target override it")
	addSSHFlags(f, &o.ssh)
	addUIFlags(f, &o.ui)
	addBundleFlags(f, &o.bundle)
	return cmd
}

// addDriverFlags registers the flags `run` and `resume` share.
func addDriverFlags(f *pflag.FlagSet, o *runOptions) {
	f.StringArrayVarP(&o.targets, "target", "t", nil, "bind a role to hosts: ROLE=[user@]host[:port], ROLE=ssh-alias, ROLE=local, ROLE=h1,h2, ROLE=web[01:20], or ROLE=@GROUP of --inventory (repeat to add hosts)")
	f.StringArrayVar(&o.inventories, "inventory", nil, "Ansible inventory (INI, YAML, or ansible-inventory --list JSON); a role with no --target binds to the group of the same name (repeatable)")
	f.StringArrayVarP(&o.params, "param", "p", nil, "set a param: NAME=VALUE (repeatable)")
	f.BoolVar(&o.auto, "auto", false, "run unattended (no prompts)")
	f.StringArrayVar(&o.answers, "answer", nil, "answer an ask (or a manual step with \"done\") in --auto: STEP=CHOICE (step id or ref; repeatable); STEP@HOST=CHOICE answers one host of a per-host section apart")
	f.StringVar(&o.answersFile, "answers", "", "YAML or JSON file of answers: STEP: CHOICE, or STEP: {INPUT: VALUE} for a fix's inputs")
	f.StringArrayVar(&o.inputs, "input", nil, "a fix input in --auto: STEP.NAME=VALUE (repeatable); STEP@HOST.NAME=VALUE gives one host of a per-host section its own value")
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

// parseTargets binds roles to hosts: --target ROLE=SPEC (a host, a comma
// list, a pattern such as web[01:20], or @GROUP of an inventory), and, for
// roles of rb that no --target names, the inventory group of the same name.
func parseTargets(list, inventories []string, rb *engine.Runbook) (map[string][]engine.Host, error) {
	var invs []*inventory.Inventory
	for _, path := range inventories {
		inv, err := inventory.Load(path)
		if err != nil {
			return nil, usageErr("--inventory: %v", err)
		}
		invs = append(invs, inv)
	}
	out := map[string][]engine.Host{}
	for _, kv := range list {
		role, spec, ok := strings.Cut(kv, "=")
		if !ok || role == "" || spec == "" {
			return nil, usageErr("--target %q: want ROLE=HOST (e.g. active=root@10.0.0.5, host=local, nodes=h1,h2 or nodes=@group)", kv)
		}
		for _, part := range strings.Split(spec, ",") {
			part = strings.TrimSpace(part)
			if group, ok := strings.CutPrefix(part, "@"); ok {
				hosts, err := inventoryGroup(invs, group)
				if err != nil {
					return nil, usageErr("--target %s: %v", kv, err)
				}
				for _, h := range hosts {
					out[role] = append(out[role], inventoryHost(role, h))
				}
				continue
			}
			names, err := inventory.Expand(part)
			if err != nil {
				return nil, usageErr("--target %s: %v", kv, err)
			}
			for _, n := range names {
				out[role] = append(out[role], engine.Host{Role: role, Name: n})
			}
		}
	}
	if rb != nil && len(invs) > 0 {
		for _, t := range rb.Targets {
			if _, bound := out[t.Name]; bound {
				continue
			}
			if hosts, err := inventoryGroup(invs, t.Name); err == nil {
				for _, h := range hosts {
					out[t.Name] = append(out[t.Name], inventoryHost(t.Name, h))
				}
			}
		}
	}
	return out, nil
}

// inventoryHost binds role to an inventory host: shown and keyed by its
// inventory name, dialled at its ansible_host/port/user when it has them.
func inventoryHost(role string, h inventory.Host) engine.Host {
	e := engine.Host{Role: role, Name: h.Name}
	if t := h.Target(); t != h.Name {
		e.Addr = t
	}
	return e
}

// inventoryGroup finds a group in the first inventory that has it.
func inventoryGroup(invs []*inventory.Inventory, group string) ([]inventory.Host, error) {
	if len(invs) == 0 {
		return nil, fmt.Errorf("@%s needs --inventory FILE", group)
	}
	var firstErr error
	for _, inv := range invs {
		hosts, err := inv.Group(group)
		if err == nil {
			return hosts, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
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
	if o.alert != "" {
		if err := o.bindAlert(rb); err != nil {
			return err
		}
	}
	ro, err := o.build(rb)
	if err != nil {
		return err
	}
	if ro.Params, err = parseKV(o.params, "--param"); err != nil {
		return err
	}
	captures, err := parseStepKV(o.captures, "--capture")
	if err != nil {
		return err
	}
	ro.StartAt, ro.DryRun, ro.Captures = o.startAt, o.dryRun, captures
	if o.startAt != "" {
		if rb.Step(o.startAt) == nil {
			return usageErr("--start-at %q: no such step", o.startAt)
		}
		if missing := engine.MissingAtStart(rb, o.startAt, captures); len(missing) > 0 {
			if !ro.Interactive {
				return missingErr(o.startAt, missing)
			}
			if ro.Captures, err = askMissing(o, captures, missing); err != nil {
				return err
			}
		}
	} else if len(captures) > 0 {
		return usageErr("--capture is for --start-at: a session from the first step captures its own values")
	}
	return run.Run(ctx, ro)
}

// build turns the flags `run` and `resume` share into run options: targets,
// policy, the SSH transport's config, bundle and TUI settings.
func (o *runOptions) build(rb *engine.Runbook) (run.Options, error) {
	ro := run.Options{
		Runbook: rb, Interactive: o.interactive(), Output: o.output,
		Stdin: o.stdin, Stdout: o.stdout, Stderr: o.stderr, ToolVersion: version,
		UI: run.UIOptions{Scrollback: o.ui.scrollback},
	}
	var err error
	if ro.Targets, err = parseTargets(o.targets, o.inventories, rb); err != nil {
		return ro, err
	}
	if ro.Policy, err = buildPolicy(o, rb); err != nil {
		return ro, err
	}
	if ro.SSH, err = o.ssh.transport(ro.Interactive); err != nil {
		return ro, err
	}
	if ro.Bundle, err = o.bundle.options(); err != nil {
		return ro, err
	}
	return ro, nil
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
