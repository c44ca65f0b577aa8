package agent

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Heartbeat modes: what counts as a sign of life of the wrapped command.
const (
	// ModeProgress counts output, CPU time advancing and the app touching the sentinel.
	ModeProgress = "progress"
	// ModeFile counts only the app touching the sentinel itself.
	ModeFile = "file"
)

// Defaults used when neither a flag nor its environment variable is set.
const (
	DefaultMaxAge     = 10 * time.Minute
	DefaultGrace      = 5 * time.Minute
	DefaultPushBudget = 5 * time.Second
)

// Config is everything the agent's commands read from flags and JOBCHECK_* variables.
type Config struct {
	Pushgateway string        // Pushgateway base URL; empty means no push
	Job         string        // the "job" grouping label
	Namespace   string        // the "namespace" grouping label
	Pod         string        // informational only: never a grouping label
	Container   string        // added to the grouping key only when non-empty
	Sentinel    string        // heartbeat file
	MaxAge      time.Duration // heartbeat age at which the probe fails
	Heartbeat   string        // ModeProgress or ModeFile
	Schedule    string        // 5-field cron schedule of the CronJob, if any
	Timezone    string        // IANA zone of Schedule; empty means UTC
	Grace       time.Duration // added to the next scheduled run to form the deadline
	PushBudget  time.Duration // total time all reporting at exit may take
}

// setting ties one flag to its environment variable.
type setting struct {
	flag, env, usage string
	str              *string
	dur              *time.Duration
}

// Settings is the set of flags of one command, each mirrored by a JOBCHECK_* variable.
// The flag wins over the variable.
type Settings struct {
	fs   *flag.FlagSet
	list []setting
}

// Bind registers on fs the flags named in names (all of them when names is empty)
// and returns the Settings that later applies the environment to the flags left unset.
func (c *Config) Bind(fs *flag.FlagSet, names ...string) *Settings {
	all := []setting{
		{flag: "pushgateway", env: "JOBCHECK_PUSHGATEWAY", usage: "Pushgateway URL; empty: no push", str: &c.Pushgateway},
		{flag: "job", env: "JOBCHECK_JOB", usage: "job label of the pushed metrics (default: the command's base name)", str: &c.Job},
		{flag: "namespace", env: "JOBCHECK_NAMESPACE", usage: "namespace label of the pushed metrics", str: &c.Namespace},
		{flag: "pod", env: "JOBCHECK_POD", usage: "pod name, for logs only (never a grouping label)", str: &c.Pod},
		{flag: "container", env: "JOBCHECK_CONTAINER", usage: "container label; set only when a pod wraps several containers", str: &c.Container},
		{flag: "sentinel", env: "JOBCHECK_SENTINEL", usage: "heartbeat file (default: $TMPDIR/jobcheck-<job>.heartbeat for run)", str: &c.Sentinel},
		{flag: "max-age", env: "JOBCHECK_MAX_AGE", usage: "heartbeat age at which the probe fails", dur: &c.MaxAge},
		{flag: "heartbeat", env: "JOBCHECK_HEARTBEAT", usage: "what counts as life: progress (output, CPU, touches) or file (touches only)", str: &c.Heartbeat},
		{flag: "schedule", env: "JOBCHECK_SCHEDULE", usage: "cron schedule (5 fields) of the CronJob, for the next-run deadline", str: &c.Schedule},
		{flag: "timezone", env: "JOBCHECK_TIMEZONE", usage: "IANA time zone of the schedule (default UTC)", str: &c.Timezone},
		{flag: "grace", env: "JOBCHECK_GRACE", usage: "extra time after the next scheduled run before the job is overdue", dur: &c.Grace},
		{flag: "push-budget", env: "JOBCHECK_PUSH_BUDGET", usage: "total time all reporting at exit may take", dur: &c.PushBudget},
	}
	c.MaxAge, c.Grace, c.PushBudget, c.Heartbeat = DefaultMaxAge, DefaultGrace, DefaultPushBudget, ModeProgress
	s := &Settings{fs: fs}
	for _, st := range all {
		if len(names) > 0 && !slices.Contains(names, st.flag) {
			continue
		}
		usage := st.usage + " (env " + st.env + ")"
		if st.str != nil {
			fs.StringVar(st.str, st.flag, *st.str, usage)
		} else {
			fs.DurationVar(st.dur, st.flag, *st.dur, usage)
		}
		s.list = append(s.list, st)
	}
	return s
}

// ApplyEnv fills every flag that was not given on the command line from its
// environment variable. It must be called after fs.Parse. A malformed duration in
// the environment is an error naming the variable.
func (s *Settings) ApplyEnv(getenv func(string) string) error {
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, st := range s.list {
		v := getenv(st.env)
		if given[st.flag] || v == "" {
			continue
		}
		if st.str != nil {
			*st.str = v
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q in %s", v, st.env)
		}
		*st.dur = d
	}
	return nil
}

// Validate checks the values that flag parsing cannot, so that a bad setting is
// reported before the job starts. The schedule and time zone are not checked
// here: they only feed one metric, so a bad one costs a warning at run time,
// never the job.
func (c *Config) Validate() error {
	if c.MaxAge <= 0 {
		return fmt.Errorf("max-age must be positive, got %s", c.MaxAge)
	}
	if c.Grace < 0 {
		return fmt.Errorf("grace must not be negative, got %s", c.Grace)
	}
	if c.PushBudget <= 0 {
		return fmt.Errorf("push-budget must be positive, got %s", c.PushBudget)
	}
	if c.Heartbeat != ModeProgress && c.Heartbeat != ModeFile {
		return fmt.Errorf("heartbeat must be %q or %q, got %q", ModeProgress, ModeFile, c.Heartbeat)
	}
	return nil
}

// fillDefaults derives the job name and sentinel path a plain cron wrapper
// needs when the webhook did not set them.
func (c *Config) fillDefaults(argv []string) {
	if c.Job == "" && len(argv) > 0 {
		c.Job = filepath.Base(argv[0])
	}
	if c.Sentinel == "" {
		c.Sentinel = filepath.Join(os.TempDir(), "jobcheck-"+strings.ReplaceAll(c.Job, "/", "_")+".heartbeat")
	}
}

// markerPath is the preStop marker that `jobcheck prestop` leaves next to the sentinel.
func markerPath(sentinel string) string { return sentinel + ".terminating" }
