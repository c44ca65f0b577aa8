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
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // schedules' time zones must resolve in a scratch image

	"github.com/jobcheck/jobcheck/agent"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

const usage = `usage: jobcheck <command> [flags]

commands:
  run [flags] -- CMD [ARGS...]   run CMD, keep its heartbeat, report its result
  probe                          exit 1 when the heartbeat is older than the max age
  prestop                        record that the pod is being terminated (preStop hook)
  touch                          refresh the heartbeat once
  install DEST                   copy this binary to DEST (mode 0755, atomically)
  version                        print the version

Every flag of run also reads its JOBCHECK_* environment variable; the flag wins.
Run 'jobcheck <command> --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()})).With("prog", "jobcheck")
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runRun(rest, stdout, stderr, log)
	case "probe":
		return runProbe(rest, stdout, stderr)
	case "prestop":
		return runPrestop(rest, stdout, stderr, log)
	case "touch":
		return runTouch(rest, stdout, stderr)
	case "install":
		return runInstall(rest, stdout, stderr)
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

// logLevel is debug when JOBCHECK_DEBUG is set, so failed pushes after the
// first one can be seen when needed.
func logLevel() slog.Level {
	if os.Getenv("JOBCHECK_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// parse parses a command's flags and then the environment. It returns the
// exit code to stop with, or -1 to go on: 0 after --help, 2 after one line
// naming a bad flag or value.
func parse(name, synopsis string, fs *flag.FlagSet, s *agent.Settings, args []string, stdout, stderr io.Writer) int {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: jobcheck %s %s\n\nflags:\n", name, synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "jobcheck %s: %v\n", name, err)
		return 2
	}
	if s != nil {
		if err := s.ApplyEnv(os.Getenv); err != nil {
			fmt.Fprintf(stderr, "jobcheck %s: %v\n", name, err)
			return 2
		}
	}
	return -1
}

func runRun(args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var cfg agent.Config
	s := cfg.Bind(fs)
	if code := parse("run", "[flags] -- CMD [ARGS...]", fs, s, args, stdout, stderr); code >= 0 {
		return code
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "jobcheck run: %v\n", err)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "jobcheck run: no command given (usage: jobcheck run [flags] -- CMD [ARGS...])")
		return 2
	}
	return agent.Run(cfg, fs.Args(), log)
}

func runProbe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	var cfg agent.Config
	s := cfg.Bind(fs, "sentinel", "max-age")
	if code := parse("probe", "[flags]", fs, s, args, stdout, stderr); code >= 0 {
		return code
	}
	if cfg.Sentinel == "" {
		fmt.Fprintln(stderr, "jobcheck probe: no sentinel: set JOBCHECK_SENTINEL or --sentinel")
		return 2
	}
	if cfg.MaxAge <= 0 {
		fmt.Fprintf(stderr, "jobcheck probe: max-age must be positive, got %s\n", cfg.MaxAge)
		return 2
	}
	if err := agent.Probe(cfg.Sentinel, cfg.MaxAge, time.Now()); err != nil {
		fmt.Fprintf(stderr, "jobcheck probe: %v\n", err)
		return 1
	}
	return 0
}

func runPrestop(args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := flag.NewFlagSet("prestop", flag.ContinueOnError)
	var cfg agent.Config
	s := cfg.Bind(fs, "pushgateway", "job", "namespace", "container", "sentinel", "push-budget")
	if code := parse("prestop", "[flags]", fs, s, args, stdout, stderr); code > 0 {
		return 0 // a preStop hook always succeeds; the bad flag was reported
	} else if code == 0 {
		return 0
	}
	agent.Prestop(cfg, log, time.Now())
	return 0
}

func runTouch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("touch", flag.ContinueOnError)
	var cfg agent.Config
	s := cfg.Bind(fs, "sentinel")
	if code := parse("touch", "[flags]", fs, s, args, stdout, stderr); code >= 0 {
		return code
	}
	if cfg.Sentinel == "" {
		fmt.Fprintln(stderr, "jobcheck touch: no sentinel: set JOBCHECK_SENTINEL or --sentinel")
		return 2
	}
	if err := agent.Touch(cfg.Sentinel, time.Now()); err != nil {
		fmt.Fprintf(stderr, "jobcheck touch: %v\n", err)
		return 1
	}
	return 0
}

func runInstall(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	if code := parse("install", "DEST", fs, nil, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "jobcheck install: want exactly one argument, DEST")
		return 2
	}
	if err := agent.Install(fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "jobcheck %v\n", err)
		return 1
	}
	return 0
}
