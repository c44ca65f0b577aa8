package runs

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the webhook image is scratch: a CronJob's time zone must load without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// deadline is a CronJob's next-run deadline: the first scheduled time after
// its last schedule time (its creation before it ever ran), in its time zone
// (UTC when it has none, as the agent reads JOBCHECK_SCHEDULE), plus grace.
// The zero time means the schedule never fires again.
func deadline(cj *batchv1.CronJob, grace time.Duration) (time.Time, error) {
	tz := "UTC"
	if cj.Spec.TimeZone != nil && *cj.Spec.TimeZone != "" {
		tz = *cj.Spec.TimeZone
	}
	s, err := parseSchedule(cj.Spec.Schedule, tz)
	if err != nil {
		return time.Time{}, err
	}
	from := cj.CreationTimestamp.Time
	if t := cj.Status.LastScheduleTime; t != nil {
		from = t.Time
	}
	next := s.Next(from)
	if next.IsZero() {
		return time.Time{}, nil
	}
	return next.Add(grace), nil
}

// parseSchedule parses a CronJob schedule (five fields or a descriptor such
// as @hourly) in time zone tz; a CRON_TZ= or TZ= prefix of the schedule wins,
// as in Kubernetes.
func parseSchedule(spec, tz string) (s cron.Schedule, err error) {
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	full := spec
	if !strings.HasPrefix(spec, "TZ=") && !strings.HasPrefix(spec, "CRON_TZ=") {
		full = "CRON_TZ=" + tz + " " + spec
	}
	// robfig/cron v3.0.1 panics on a time zone prefix with nothing after it.
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
