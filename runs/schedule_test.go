package runs

import (
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"
)

func TestDeadline(t *testing.T) {
	for _, c := range []struct {
		name     string
		schedule string
		tz       string
		last     int // seconds after t0 (03:00 UTC); -1: never scheduled
		grace    time.Duration
		want     string // RFC 3339, UTC
		err      string
	}{
		{name: "every 15 minutes", schedule: "*/15 * * * *", last: 0, grace: 5 * time.Minute, want: "2026-03-01T03:20:00Z"},
		{name: "never ran: from its creation (a day before t0)", schedule: "0 4 * * *", last: -1, want: "2026-02-28T04:00:00Z"},
		{name: "in its time zone", schedule: "0 3 * * *", tz: "Europe/Berlin", last: 0, grace: time.Minute, want: "2026-03-02T02:01:00Z"},
		{name: "a CRON_TZ prefix wins", schedule: "CRON_TZ=America/New_York 0 3 * * *", tz: "Europe/Berlin", last: 0, want: "2026-03-01T08:00:00Z"},
		{name: "descriptor", schedule: "@hourly", last: 0, want: "2026-03-01T04:00:00Z"},
		{name: "bad schedule", schedule: "every day", last: 0, err: `schedule "every day"`},
		{name: "prefix and nothing else", schedule: "CRON_TZ=UTC", last: 0, err: "no fields after the time zone"},
		{name: "unknown time zone", schedule: "0 3 * * *", tz: "Mars/Olympus", last: 0, err: `time zone "Mars/Olympus"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cj := cronJob("nightly", c.schedule, c.last)
			if c.tz != "" {
				cj.Spec.TimeZone = ptr.To(c.tz)
			}
			got, err := deadline(cj, c.grace)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got.UTC().Format(time.RFC3339); s != c.want {
				t.Errorf("deadline %s, want %s", s, c.want)
			}
		})
	}
}
