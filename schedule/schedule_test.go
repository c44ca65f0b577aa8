package schedule

import (
	"testing"
	"time"
)

func TestParseAndDeadline(t *testing.T) {
	from := time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		spec, tz string
		want     time.Time
		bad      bool
	}{
		{spec: "0 3 * * *", want: time.Date(2026, 3, 29, 3, 5, 0, 0, time.UTC)},
		{spec: "@hourly", want: time.Date(2026, 3, 29, 0, 5, 0, 0, time.UTC)},
		// 03:00 in Berlin on the day clocks go forward (UTC+2 from 01:00 UTC).
		{spec: "0 3 * * *", tz: "Europe/Berlin", want: time.Date(2026, 3, 29, 1, 5, 0, 0, time.UTC)},
		{spec: "CRON_TZ=America/New_York 0 3 * * *", tz: "Europe/Berlin", want: time.Date(2026, 3, 29, 7, 5, 0, 0, time.UTC)},
		{spec: "TZ=UTC */15 * * * *", want: time.Date(2026, 3, 28, 23, 50, 0, 0, time.UTC)},
		{spec: "CRON_TZ=UTC", bad: true},
		{spec: "61 * * * *", bad: true},
		{spec: "0 3 * * *", tz: "Mars/Olympus", bad: true},
		{spec: "* * *", bad: true},
	} {
		s, err := Parse(c.spec, c.tz, time.LoadLocation)
		if c.bad {
			if err == nil {
				t.Errorf("Parse(%q, %q): no error", c.spec, c.tz)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", c.spec, c.tz, err)
		}
		if got := Deadline(s, from, 5*time.Minute); !got.Equal(c.want) {
			t.Errorf("Deadline(%q, %q) = %s, want %s", c.spec, c.tz, got.UTC(), c.want)
		}
	}
}
