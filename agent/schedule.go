package agent

import (
	"time"

	"github.com/jobcheck/jobcheck/schedule"
)

// nextRunDeadline is the time by which the next run must have started: the
// first scheduled time strictly after start, plus grace. The zero time means
// "no schedule" (or one that never fires again). Zones load through
// loadLocation, so that they resolve in an image without a time zone
// database.
func nextRunDeadline(spec, tz string, start time.Time, grace time.Duration) (time.Time, error) {
	if spec == "" {
		return time.Time{}, nil
	}
	s, err := schedule.Parse(spec, tz, loadLocation)
	if err != nil {
		return time.Time{}, err
	}
	return schedule.Deadline(s, start, grace), nil
}
