// Command jobcheck is the in-pod agent of jobcheck: it wraps a job's command
// (run), checks its heartbeat for the liveness probe (probe), records a pod's
// termination (prestop), and copies itself into a shared volume (install).
// It is also usable as a plain cron wrapper on any Linux host.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/jobcheck/jobcheck/agent"
	"github.com/jobcheck/jobcheck/agent/textlog"
	"github.com/jobcheck/jobcheck/contract"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

const usage = `usage: jobcheck <command> [flags]

commands:
  run [flags] -- CMD [ARGS...]   run CMD, keep its heartbeat, report its attempt (and run)
  probe                          exit 1 when the heartbeat is older than the max age
  prestop                        record that the pod is being terminated (preStop hook)
  touch                          refresh the heartbeat once
  install DEST                   copy this binary to DEST (mode 0755, atomically)
  version                        print the version

Every flag of run also reads its JOBCHECK_* environment variable; the flag wins.
Run 'jobcheck <command> --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// cli is one invocation: its output, its environment and a logger made
// only when something is logged (the probe's path stays short).
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// injected: a job pod the webhook injected (contract.EnvInjected). No
	// flag may stop the job there: nobody typed it.
	injected bool
	log      *textlog.Logger
}

func (c *cli) logger() *textlog.Logger {
	if c.log == nil {
		level := textlog.LevelInfo
		if c.getenv(contract.EnvDebug) != "" {
			level = textlog.LevelDebug // every failed push, not only the first
		}
		c.log = textlog.New(c.stderr, level).With("prog", "jobcheck")
	}
	return c.log
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv, injected: getenv(contract.EnvInjected) != ""}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case contract.CommandRun:
		return c.run(rest)
	case contract.CommandProbe:
		return c.probe(rest)
	case contract.CommandPrestop:
		c.prestop(rest)
		return 0 // a preStop hook always succeeds
	case "touch":
		return c.touch(rest)
	case contract.CommandInstall:
		return c.install(rest)
	case "version", "--version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "jobcheck: unknown command %q (want run, probe, prestop, touch, install or version)\n", cmd)
		return 2
	}
}

// parsed is a command's configuration and its arguments after the flags.
type parsed struct {
	cfg  agent.Config
	args []string
	exit int // >= 0: stop with this code
}

// parse parses a command's flags (those named, all when none) and the
// environment. A value in the environment that cannot be used keeps its
// default with one warning line. A bad flag stops a person's command with
// one line and exit 2; in an injected pod it costs one line and every flag
// is dropped: the command after "--" runs as the environment says.
func (c *cli) parse(name, synopsis string, args []string, flags ...string) parsed {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	f := agent.Bind(fs, flags...)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(c.stdout, "usage: jobcheck %s %s\n\nflags:\n", name, synopsis)
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		return parsed{exit: 0}
	}
	rest := fs.Args()
	if err != nil {
		if !c.injected {
			fmt.Fprintf(c.stderr, "jobcheck %s: %v\n", name, err)
			return parsed{exit: 2}
		}
		c.logger().Warn("bad flag: every flag ignored, the environment and the defaults used (the job is not affected)",
			"command", name, "err", err)
		fs = flag.NewFlagSet(name, flag.ContinueOnError)
		f = agent.Bind(fs, flags...)
		rest = nil
		if i := slices.Index(args, "--"); i >= 0 {
			rest = args[i+1:]
		}
	}
	cfg, problems, err := f.Resolve(c.getenv, !c.injected)
	if err != nil {
		fmt.Fprintf(c.stderr, "jobcheck %s: %v\n", name, err)
		return parsed{exit: 2}
	}
	for _, p := range problems {
		c.logger().Warn("bad setting: the default used (the job is not affected)",
			"setting", p.Source, "value", p.Value, "default", p.Used, "err", p.Err)
	}
	return parsed{cfg: cfg, args: rest, exit: -1}
}

func (c *cli) run(args []string) int {
	p := c.parse("run", "[flags] -- CMD [ARGS...]", args)
	if p.exit >= 0 {
		return p.exit
	}
	argv := p.args
	if raw := c.getenv(contract.EnvEntrypoints); raw != "" {
		var err error
		if argv, err = agent.Entrypoint(raw, argv); err != nil {
			fmt.Fprintf(c.stderr, "jobcheck run: %v\n", err)
			return 127
		}
	}
	if len(argv) == 0 {
		fmt.Fprintln(c.stderr, "jobcheck run: no command given (usage: jobcheck run [flags] -- CMD [ARGS...])")
		return 2
	}
	return agent.Run(p.cfg, argv, c.logger())
}

func (c *cli) probe(args []string) int {
	p := c.parse("probe", "[flags]", args, "sentinel", "max-age")
	if p.exit >= 0 {
		return p.exit
	}
	if p.cfg.Sentinel == "" {
		if c.injected {
			fmt.Fprintf(c.stderr, "jobcheck probe: no sentinel (%s): passing\n", contract.EnvSentinel)
			return 0
		}
		fmt.Fprintf(c.stderr, "jobcheck probe: no sentinel: set %s or --sentinel\n", contract.EnvSentinel)
		return 2
	}
	note, err := agent.Probe(p.cfg.Sentinel, p.cfg.MaxAge, time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "jobcheck probe: %v\n", err)
		return 1
	}
	if note != "" {
		fmt.Fprintf(c.stderr, "jobcheck probe: %s\n", note)
	}
	return 0
}

func (c *cli) prestop(args []string) {
	p := c.parse("prestop", "[flags]", args, "pushgateway", "job", "namespace", "container", "sentinel", "max-age", "push-budget")
	if p.exit >= 0 {
		return // the bad flag was reported
	}
	agent.Prestop(p.cfg, c.logger(), time.Now())
}

func (c *cli) touch(args []string) int {
	p := c.parse("touch", "[flags]", args, "sentinel")
	if p.exit >= 0 {
		return p.exit
	}
	if p.cfg.Sentinel == "" {
		fmt.Fprintf(c.stderr, "jobcheck touch: no sentinel: set %s or --sentinel\n", contract.EnvSentinel)
		return 2
	}
	if err := agent.Touch(p.cfg.Sentinel, time.Now()); err != nil {
		fmt.Fprintf(c.stderr, "jobcheck touch: %v\n", err)
		return 1
	}
	return 0
}

func (c *cli) install(args []string) int {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, "usage: jobcheck install DEST\n\ncopies this binary to DEST (mode 0755, atomically)\n")
		return 0
	case err != nil:
		fmt.Fprintf(c.stderr, "jobcheck install: %v\n", err)
		return 2
	case fs.NArg() != 1:
		fmt.Fprintln(c.stderr, "jobcheck install: want exactly one argument, DEST")
		return 2
	}
	if err := agent.Install(fs.Arg(0)); err != nil {
		fmt.Fprintf(c.stderr, "jobcheck %v\n", err)
		return 1
	}
	return 0
}
