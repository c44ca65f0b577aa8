package agent

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// probeOK runs `jobcheck probe` the way the kubelet does: from the env.
func probeOK(t *testing.T, sentinel string, maxAge time.Duration) (bool, string) {
	t.Helper()
	r := jobcheck(t, []string{contract.EnvSentinel + "=" + sentinel, contract.EnvMaxAge + "=" + maxAge.String()}, "probe")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("probe exit %d: %s", r.code, r.stderr)
	}
	return r.code == 0, r.stderr
}

// A blocked, silent child lets the sentinel go stale; children that show
// life in any of the counted ways keep it fresh.
func TestHeartbeatFollowsSignsOfLife(t *testing.T) {
	const maxAge = contract.MinMaxAge
	const watch = maxAge + 3*time.Second // a stale file would show
	cases := []struct {
		name, mode, script string
		fresh              bool
	}{
		{"silent blocked child", "progress", `echo ready; exec sleep 60`, false},
		{"chatty child", "progress", `echo ready; while :; do echo tick; sleep 0.2; done`, true},
		{"silent busy child", "progress", `echo ready; exec 1>&-; while :; do :; done`, true},
		{"silent busy grandchild", "progress", `echo ready; exec 1>&-; sh -c 'while :; do :; done'`, true},
		{"app touches the sentinel", "progress", `echo ready; exec 1>&-; while :; do touch "$JOBCHECK_SENTINEL"; sleep 0.3; done`, true},
		{"file mode ignores output", "file", `echo ready; while :; do echo tick; sleep 0.2; done`, false},
		{"file mode counts touches", "file", `echo ready; while :; do touch "$JOBCHECK_SENTINEL"; sleep 0.3; done`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sentinel := filepath.Join(t.TempDir(), "c.heartbeat")
			r := startJobcheck(t, nil, nil, "run", "--sentinel", sentinel, "--max-age", maxAge.String(), "--heartbeat", tc.mode, "--", "sh", "-c", tc.script)
			r.waitLine(t, "ready")
			if ok, msg := probeOK(t, sentinel, maxAge); !ok {
				t.Fatalf("probe failed right after start: %s", msg)
			}
			end := time.Now().Add(watch)
			fresh, last := true, ""
			for time.Now().Before(end) && fresh {
				time.Sleep(250 * time.Millisecond)
				fresh, last = probeOK(t, sentinel, maxAge)
			}
			if fresh != tc.fresh {
				t.Fatalf("heartbeat fresh = %v after %s, want %v (%s)", fresh, watch, tc.fresh, last)
			}
			if !fresh && !strings.Contains(last, "old, limit 5s") {
				t.Errorf("probe message %q: want the age and the limit", last)
			}
		})
	}
}
