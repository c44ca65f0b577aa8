package agent

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// Config is everything the agent's commands read from flags and the
// environment (contract.Env*).
type Config struct {
	Pushgateway string        // Pushgateway base URL; empty means no push
	Job         string        // the job grouping label
	Namespace   string        // the namespace grouping label
	Pod         string        // for logs only: never a grouping label
	Container   string        // the container grouping label, only when not empty
	Index       string        // the index grouping label: an Indexed Job's completion index
	Sentinel    string        // heartbeat file
	MaxAge      time.Duration // heartbeat age at which the attempt counts as hung
	Heartbeat   string        // contract.HeartbeatProgress or contract.HeartbeatFile
	Schedule    string        // the CronJob's schedule, for the next-run deadline
	Timezone    string        // IANA zone of Schedule; empty means UTC
	Grace       time.Duration // added to the next scheduled run to form the deadline
	PushBudget  time.Duration // total time the reporting at exit may take
	Report      string        // contract.ReportRun or contract.ReportAttempt
}

// defaults is the configuration when no flag or variable says otherwise.
func defaults() Config {
	return Config{
		MaxAge:     contract.DefaultMaxAge,
		Heartbeat:  contract.HeartbeatProgress,
		Grace:      contract.DefaultGrace,
		PushBudget: contract.DefaultPushBudget,
		Report:     contract.ReportRun,
	}
}

// setting is one value of Config: its flag, its environment variable and
// how a text sets it.
type setting struct {
	flag, env, usage string
	conv
}

// conv sets one field of Config from a text, and shows the value in force.
// set fails on a value that cannot be used, and leaves the field alone then.
type conv struct {
	set  func(c *Config, v string) error
	show func(c *Config) string
}

func text(field func(*Config) *string) conv {
	return conv{
		set:  func(c *Config, v string) error { *field(c) = v; return nil },
		show: func(c *Config) string { return *field(c) },
	}
}

func oneOf(field func(*Config) *string, values ...string) conv {
	return conv{
		set: func(c *Config, v string) error {
			if !slices.Contains(values, v) {
				return fmt.Errorf("want %s", strings.Join(values, " or "))
			}
			*field(c) = v
			return nil
		},
		show: func(c *Config) string { return *field(c) },
	}
}

func duration(field func(*Config) *time.Duration, check func(time.Duration) error) conv {
	return conv{
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("want a Go duration such as 30m or 1h30m")
			}
			if err := check(d); err != nil {
				return err
			}
			*field(c) = d
			return nil
		},
		show: func(c *Config) string { return field(c).String() },
	}
}

func atLeast(least time.Duration) func(time.Duration) error {
	return func(d time.Duration) error {
		if d < least {
			return fmt.Errorf("want at least %s", least)
		}
		return nil
	}
}

func positive(d time.Duration) error {
	if d <= 0 {
		return errors.New("want a positive duration")
	}
	return nil
}

// pushgatewayURL accepts an empty URL (no push), an http(s) URL or a
// host:port.
func pushgatewayURL() conv {
	return conv{
		set: func(c *Config, v string) error {
			if v != "" {
				if _, err := pushgateway.New(v, nil, nil); err != nil {
					return err
				}
			}
			c.Pushgateway = v
			return nil
		},
		show: func(c *Config) string { return c.Pushgateway },
	}
}

// settings lists every setting, in the order of `jobcheck run --help`.
func settings() []setting {
	return []setting{
		{"pushgateway", contract.EnvPushgateway, "Pushgateway URL; empty: no push", pushgatewayURL()},
		{"job", contract.EnvJob, "job label of the pushed metrics (default: the command's base name)", text(func(c *Config) *string { return &c.Job })},
		{"namespace", contract.EnvNamespace, "namespace label of the pushed metrics", text(func(c *Config) *string { return &c.Namespace })},
		{"pod", contract.EnvPod, "pod name, for logs only (never a label)", text(func(c *Config) *string { return &c.Pod })},
		{"container", contract.EnvContainer, "container label; set only when a pod wraps several containers", text(func(c *Config) *string { return &c.Container })},
		{"sentinel", contract.EnvSentinel, "heartbeat file (default for run: $TMPDIR/jobcheck-<job>.heartbeat)", text(func(c *Config) *string { return &c.Sentinel })},
		{"max-age", contract.EnvMaxAge, "heartbeat age at which the attempt counts as hung (at least " + contract.MinMaxAge.String() + ")",
			duration(func(c *Config) *time.Duration { return &c.MaxAge }, atLeast(contract.MinMaxAge))},
		{"heartbeat", contract.EnvHeartbeat, "what counts as life: progress (output, CPU, touches) or file (touches only)",
			oneOf(func(c *Config) *string { return &c.Heartbeat }, contract.HeartbeatProgress, contract.HeartbeatFile)},
		{"report", contract.EnvReport, "run (the agent reports runs: alone, a cron wrapper) or attempt (the webhook's run watcher reports runs)",
			oneOf(func(c *Config) *string { return &c.Report }, contract.ReportRun, contract.ReportAttempt)},
		{"schedule", contract.EnvSchedule, "cron schedule (5 fields) of the CronJob, for the next-run deadline", text(func(c *Config) *string { return &c.Schedule })},
		{"timezone", contract.EnvTimezone, "IANA time zone of the schedule (default UTC)", text(func(c *Config) *string { return &c.Timezone })},
		{"grace", contract.EnvGrace, "time after the next scheduled run before the CronJob is overdue",
			duration(func(c *Config) *time.Duration { return &c.Grace }, atLeast(0))},
		{"push-budget", contract.EnvPushBudget, "total time the reporting at exit may take",
			duration(func(c *Config) *time.Duration { return &c.PushBudget }, positive)},
	}
}

// Flags binds a command's flags (those named, or all) to a Config. Every
// flag also reads its environment variable; a flag given on the command line
// wins.
type Flags struct {
	fs   *flag.FlagSet
	list []setting
	raw  map[string]*string
}

// Bind registers the flags named (all when none is named) on fs.
func Bind(fs *flag.FlagSet, names ...string) *Flags {
	f := &Flags{fs: fs, raw: map[string]*string{}}
	def := defaults()
	for _, st := range settings() {
		if len(names) > 0 && !slices.Contains(names, st.flag) {
			continue
		}
		f.list = append(f.list, st)
		f.raw[st.flag] = fs.String(st.flag, st.show(&def), st.usage+" (env "+st.env+")")
	}
	return f
}

// A Problem is a value that could not be used, and what was used instead.
type Problem struct {
	Source string // the variable or the flag: JOBCHECK_MAX_AGE, --max-age
	Value  string
	Err    error
	Used   string // the value used instead
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s=%q: %v", p.Source, p.Value, p.Err)
}

// Resolve returns the configuration from the defaults, the environment
// (getenv) and the flags given, in that order. A value in the environment
// that cannot be used keeps the default and is returned as a Problem: a job
// pod must run whatever its environment holds. A bad flag is an error when
// strict (a person typed it), else a Problem too.
func (f *Flags) Resolve(getenv func(string) string, strict bool) (Config, []Problem, error) {
	c := defaults()
	var problems []Problem
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, st := range f.list {
		if v := getenv(st.env); v != "" {
			if err := st.set(&c, v); err != nil {
				problems = append(problems, Problem{Source: st.env, Value: v, Err: err, Used: st.show(&c)})
			}
		}
	}
	for _, st := range f.list {
		if !given[st.flag] {
			continue
		}
		v := *f.raw[st.flag]
		if err := st.set(&c, v); err != nil {
			p := Problem{Source: "--" + st.flag, Value: v, Err: err, Used: st.show(&c)}
			if strict {
				return c, problems, p
			}
			problems = append(problems, p)
		}
	}
	if v := getenv(contract.EnvCompletionIndex); v != "" {
		if i, err := strconv.ParseUint(v, 10, 31); err == nil {
			c.Index = strconv.FormatUint(i, 10)
		} else {
			problems = append(problems, Problem{Source: contract.EnvCompletionIndex, Value: v,
				Err: errors.New("want a non-negative integer"), Used: "no index label"})
		}
	}
	return c, problems, nil
}

// fillDefaults derives the job name and the sentinel path that a plain cron
// wrapper needs when nobody set them.
func (c *Config) fillDefaults(argv []string) {
	if c.Job == "" && len(argv) > 0 {
		c.Job = filepath.Base(argv[0])
	}
	if c.Sentinel == "" {
		c.Sentinel = filepath.Join(os.TempDir(), "jobcheck-"+strings.ReplaceAll(c.Job, "/", "_")+".heartbeat")
	}
}

// grouping is the Pushgateway grouping key of this container's attempts.
func (c *Config) grouping() [][2]string {
	return contract.Grouping(c.Job, c.Namespace, c.Container, c.Index)
}
