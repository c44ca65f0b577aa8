package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parseSchedule parses a CronJob schedule: 5 fields, or a descriptor such as
// @hourly (robfig/cron, the parser Kubernetes uses), in the time zone tz
// (empty: UTC). A "CRON_TZ=" or "TZ=" prefix in the schedule wins over tz,
// as it does in Kubernetes. Zones load through loadLocation, so that they
// resolve in an image without a time zone database.
func parseSchedule(spec, tz string) (s cron.Schedule, err error) {
	fields := spec
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if rest, ok := strings.CutPrefix(spec, prefix); ok {
			zone, f, _ := strings.Cut(rest, " ")
			tz, fields = zone, strings.TrimSpace(f)
			if fields == "" {
				return nil, fmt.Errorf("schedule %q: no fields after the time zone", spec)
			}
			break
		}
	}
	// Not the process's local time: a container image's TZ or /etc/localtime
	// must not shift the deadline of a CronJob that the controller runs in UTC.
	loc, err := loadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", tz, err)
	}
	// robfig/cron panics on some malformed input; a bad schedule must cost
	// a warning, never the job.
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("schedule %q: %v", spec, p)
		}
	}()
	s, err = cron.ParseStandard(fields)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if spec, ok := s.(*cron.SpecSchedule); ok {
		spec.Location = loc
	}
	return s, nil
}

// nextRunDeadline is the time by which the next run must have started: the
// first scheduled time strictly after start, plus grace. The zero time means
// "no schedule" (or one that never fires again).
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
