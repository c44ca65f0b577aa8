package cluster

import (
	"strings"
	"testing"
)

// The scenarios read the webhook replicas' counters from /metrics: a wrong
// parse would make a "counted once" assertion pass or fail for nothing.
func TestParseMetrics(t *testing.T) {
	page := `# HELP jobcheck_runwatch_runs_total Finished runs.
# TYPE jobcheck_runwatch_runs_total counter
jobcheck_runwatch_runs_total{result="failed"} 2
jobcheck_runwatch_runs_total{result="succeeded"} 5
jobcheck_runwatch_leader 1
jobcheck_webhook_unmonitored_pods_total{job="a\"b,c",namespace="x\\y",reason="bad\nline"} 3 1700000000000

go_gc_duration_seconds{quantile="0.5"} 1.5e-05
odd_spacing{a="1",b="2",} +Inf
`
	m, err := ParseMetrics(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		metric string
		want   map[string]string
		sum    float64
		found  bool
	}{
		{"jobcheck_runwatch_runs_total", map[string]string{"result": "failed"}, 2, true},
		{"jobcheck_runwatch_runs_total", nil, 7, true},
		{"jobcheck_runwatch_runs_total", map[string]string{"result": "stopped"}, 0, false},
		{"jobcheck_runwatch_leader", nil, 1, true},
		{"jobcheck_webhook_unmonitored_pods_total", map[string]string{"job": `a"b,c`, "namespace": `x\y`, "reason": "bad\nline"}, 3, true},
		{"go_gc_duration_seconds", map[string]string{"quantile": "0.5"}, 1.5e-05, true},
		{"odd_spacing", map[string]string{"a": "1", "b": "2"}, m["odd_spacing"][0].Value, true},
		{"absent", nil, 0, false},
	} {
		sum, found := m.Sum(c.metric, c.want)
		if sum != c.sum || found != c.found {
			t.Errorf("Sum(%s, %v) = %v, %v; want %v, %v", c.metric, c.want, sum, found, c.sum, c.found)
		}
	}

	for _, bad := range []string{
		`no_value{a="1"}`,
		`unclosed{a="1" 3`,
		`unquoted{a=1} 3`,
		`open_value{a="1} 3`,
		`{a="1"} 3`,
		`word notanumber`,
		`three fields 1 2`,
	} {
		if _, err := ParseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseMetrics(%q): no error", bad)
		}
	}
}
