// Package schedule reads a CronJob's schedule the way Kubernetes does
// (robfig/cron/v3, the parser the CronJob controller uses: five fields or a
// descriptor such as @hourly, in the CronJob's time zone, a CRON_TZ= or TZ=
// prefix winning) and computes the next-run deadline, for the agent (run
// mode) and the webhook's run watcher alike.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Parse parses spec in the time zone tz (empty: UTC, never the process's
// local time: a container image's TZ must not shift a CronJob that the
// controller runs in UTC). A CRON_TZ= or TZ= prefix of spec wins over tz.
// load finds a zone by name (time.LoadLocation, or the agent's own table).
// A malformed schedule is an error, never a panic.
func Parse(spec, tz string, load func(string) (*time.Location, error)) (s cron.Schedule, err error) {
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
	if tz == "" {
		tz = "UTC"
	}
	loc, err := load(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	// robfig/cron panics on some malformed input.
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

// Deadline is the time by which the run after from must have started: the
// first scheduled time strictly after from, plus grace. The zero time means
// the schedule never fires again.
func Deadline(s cron.Schedule, from time.Time, grace time.Duration) time.Time {
	next := s.Next(from)
	if next.IsZero() {
		return time.Time{}
	}
	return next.Add(grace)
}
