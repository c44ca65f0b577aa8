package agent

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// parseSchedule parses a standard 5-field cron schedule (the syntax of a
// Kubernetes CronJob, including @hourly-style descriptors) in the time zone tz
// (empty: UTC). A "CRON_TZ=" or "TZ=" prefix in the schedule wins over tz, as
// it does in Kubernetes.
func parseSchedule(spec, tz string) (s cron.Schedule, err error) {
	if tz == "" {
		// Not the process's local time: a container image's TZ or /etc/localtime
		// must not shift the deadline of a CronJob that the controller runs in UTC.
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("timezone %q: %w", tz, err)
	}
	full := spec
	if !hasTZPrefix(spec) {
		full = "CRON_TZ=" + tz + " " + spec
	}
	// robfig/cron v3.0.1 panics on a time-zone prefix with nothing after it
	// ("CRON_TZ=UTC"); a bad schedule must cost a warning, never the job.
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("schedule %q: no fields after the time zone", spec)
		}
	}()
	s, err = cron.ParseStandard(full)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

func hasTZPrefix(spec string) bool {
	return len(spec) > 3 && (spec[:3] == "TZ=" || len(spec) > 8 && spec[:8] == "CRON_TZ=")
}

// nextRunDeadline is the time by which the next run must have started: the first
// scheduled time strictly after start, plus grace. The zero time means "no
// schedule" (or one that never fires again).
func nextRunDeadline(spec, tz string, start time.Time, grace time.Duration) (time.Time, error) {
	if spec == "" {
		return time.Time{}, nil
	}
	s, err := parseSchedule(spec, tz)
	if err != nil {
		return time.Time{}, err
	}
	next := s.Next(start)
	if next.IsZero() {
		return time.Time{}, nil
	}
	return next.Add(grace), nil
}
