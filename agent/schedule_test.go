package agent

import (
	"strings"
	"testing"
	"time"
)

func TestNextRunDeadline(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	cases := []struct {
		spec, tz string
		start    string
		grace    time.Duration
		want     string
	}{
		{"0 * * * *", "", "2026-03-01T10:00:05Z", 0, "2026-03-01T11:00:00Z"},
		{"0 * * * *", "", "2026-03-01T10:00:05Z", 5 * time.Minute, "2026-03-01T11:05:00Z"},
		{"*/15 * * * *", "", "2026-03-01T10:14:59Z", 0, "2026-03-01T10:15:00Z"},
		{"@daily", "", "2026-03-01T00:00:01Z", time.Hour, "2026-03-02T01:00:00Z"},
		{"@every 90m", "Europe/Berlin", "2026-03-01T00:00:00Z", 0, "2026-03-01T01:30:00Z"},
		{"30 2 * * *", "Europe/Berlin", "2026-06-01T00:00:00Z", 0, "2026-06-01T00:30:00Z"}, // 02:30 CEST = 00:30 UTC
		{"CRON_TZ=America/New_York 0 9 * * 1-5", "Europe/Berlin", "2026-03-06T15:00:00Z", 0, "2026-03-09T13:00:00Z"},
		{"TZ=Asia/Kolkata 0 9 * * *", "", "2026-03-06T00:00:00Z", 0, "2026-03-06T03:30:00Z"},
		{"0 0 29 2 *", "", "2026-03-01T00:00:00Z", 0, "2028-02-29T00:00:00Z"},
	}
	// The start time comes from time.Now(), in the container's local zone: with
	// no time zone given the schedule is still read in UTC, as the CronJob
	// controller does.
	tokyo := time.FixedZone("JST", 9*3600)
	for _, tc := range cases {
		got, err := nextRunDeadline(tc.spec, tc.tz, utc(tc.start).In(tokyo), tc.grace)
		if err != nil {
			t.Errorf("%q in %q: %v", tc.spec, tc.tz, err)
			continue
		}
		if want := utc(tc.want); !got.Equal(want) {
			t.Errorf("%q in %q after %s + %s: got %s, want %s", tc.spec, tc.tz, tc.start, tc.grace, got.UTC(), want)
		}
	}
	if d, err := nextRunDeadline("", "", time.Now(), time.Hour); err != nil || !d.IsZero() {
		t.Errorf("no schedule: %v %v, want zero and no error", d, err)
	}
}

func TestBadScheduleIsAnErrorNamingIt(t *testing.T) {
	for _, tc := range []struct{ spec, tz, names string }{
		{"* * *", "", `"* * *"`},
		{"61 * * * *", "", "61"},
		{"0 * * * * *", "", "0 * * * * *"}, // seconds field: not a CronJob schedule
		{"0 * * * *", "Mars/Olympus", "Mars/Olympus"},
		{"CRON_TZ=UTC", "", "CRON_TZ=UTC"},
		{"TZ=Europe/Berlin", "", "TZ=Europe/Berlin"},
		{"CRON_TZ=Mars/Olympus 0 * * * *", "", "Mars/Olympus"},
	} {
		_, err := nextRunDeadline(tc.spec, tc.tz, time.Now(), 0)
		if err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%q/%q: error %v, want one naming %s", tc.spec, tc.tz, err, tc.names)
		}
	}
}
