package runs

import (
	"time"
	_ "time/tzdata" // the webhook image is scratch: a CronJob's time zone must load without /usr/share/zoneinfo

	batchv1 "k8s.io/api/batch/v1"

	"github.com/jobcheck/jobcheck/schedule"
)

// deadline is a CronJob's next-run deadline: the first scheduled time after
// its last schedule time (its creation before it ever ran), in its time zone
// (UTC when it has none), plus grace. The zero time means the schedule never
// fires again.
func deadline(cj *batchv1.CronJob, grace time.Duration) (time.Time, error) {
	tz := ""
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	s, err := schedule.Parse(cj.Spec.Schedule, tz, time.LoadLocation)
	if err != nil {
		return time.Time{}, err
	}
	from := cj.CreationTimestamp.Time
	if t := cj.Status.LastScheduleTime; t != nil {
		from = t.Time
	}
	return schedule.Deadline(s, from, grace), nil
}
