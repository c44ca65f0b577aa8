package agent

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// Go's own time zone database, the oracle of zones_table.go.
func goZoneinfo(t *testing.T) map[string][]byte {
	t.Helper()
	root := runtime.GOROOT()
	if root == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			t.Fatal(err)
		}
		root = strings.TrimSpace(string(out))
	}
	z, err := zip.OpenReader(filepath.Join(root, "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	out := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

// For every zone, the embedded rule gives the offsets the full database
// gives, on both sides of every change from now for three years: the
// next-run deadline is always in the future. Regenerate with
// `go generate ./agent` after a Go upgrade.
func TestZoneRulesMatchTheDatabase(t *testing.T) {
	db := goZoneinfo(t)
	if n := strings.Count(zoneRules, "\n") - 1; n != len(db) {
		t.Errorf("%d zones embedded, the database has %d: run go generate", n, len(db))
	}
	now := time.Now()
	for name, data := range db {
		want, err := time.LoadLocationFromTZData(name, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := embeddedLocation(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// Every offset change of the next three years, both sides of it.
		for at := now; at.Before(now.AddDate(3, 0, 0)); {
			for _, tt := range []time.Time{at, at.Add(-time.Second)} {
				gn, goff := tt.In(got).Zone()
				wn, woff := tt.In(want).Zone()
				if goff != woff || gn != wn {
					t.Errorf("%s at %s: %s %d, the database says %s %d", name, tt.UTC(), gn, goff, wn, woff)
				}
			}
			_, end := at.In(want).ZoneBounds()
			if end.IsZero() {
				break
			}
			if !end.After(at) { // time's bounds from a rule stop at the year's end
				end = at.Add(time.Hour)
			}
			at = end
		}
	}
	for _, bad := range []string{"", "Mars/Olympus", "Europe", "Europe/Berlin GMT0"} {
		if _, ok := zoneRule(bad); ok {
			t.Errorf("zoneRule(%q) found something", bad)
		}
	}
}

// In an image without a time zone database (scratch, distroless-static),
// run mode still computes a CronJob's next-run deadline in its time zone:
// the wrapper runs in a mount namespace where /usr/share/zoneinfo is empty.
func TestTimeZoneWithoutADatabase(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and unshare(1) to hide the time zone database")
	}
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvSchedule+"=30 2 * * *", contract.EnvTimezone+"=Asia/Kolkata", contract.EnvGrace+"=0s")
	script := `mount -t tmpfs tmpfs /usr/share/zoneinfo && test ! -e /usr/share/zoneinfo/Asia/Kolkata && exec "$0" run -- true`
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script, binPath)
	for _, kv := range append(cleanEnv(), env...) {
		if !strings.HasPrefix(kv, "GOROOT=") && !strings.HasPrefix(kv, "ZONEINFO=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	deadline := time.Unix(int64(value(t, group(t, grouping(job)), contract.MetricNextRunDeadline)), 0).UTC()
	// 02:30 in Kolkata (UTC+5:30) is 21:00 UTC.
	if deadline.Hour() != 21 || deadline.Minute() != 0 || time.Until(deadline) > 24*time.Hour || time.Until(deadline) < 0 {
		t.Errorf("next run deadline %s, want the next 21:00 UTC", deadline)
	}
}
