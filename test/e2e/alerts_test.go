//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// alertFires starts a real Prometheus that scrapes the run's Pushgateway (honor_labels,
// as manifests/prometheus/scrape-config.yaml says) and evaluates the shipped
// manifests/prometheus/rules.yaml, and waits for JobcheckJobFailed to fire for the job.
// The rule's own `for:` is kept, so this waits for at least that long.
func alertFires(t *testing.T, job, ns string) {
	t.Helper()
	ctx := ctxFor(t)
	rules := filepath.Join(env.Root, "manifests", "prometheus", "rules.yaml")
	prom, err := env.StartPrometheus(ctx, env.Pushgateway.URL, []string{rules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.StopProc("prometheus") })
	var last []cluster.Alert
	err = cluster.Poll(ctx, "JobcheckJobFailed firing for "+ns+"/"+job, 5*time.Minute, func() (bool, error) {
		alerts, err := prom.Alerts(ctx)
		if err != nil {
			return false, nil
		}
		last = alerts
		for _, a := range alerts {
			l := a.Labels
			if l["alertname"] == "JobcheckJobFailed" && l["job"] == job && l["namespace"] == ns && a.State == "firing" {
				if l["reason"] != "failed" {
					t.Errorf("alert reason %q, want failed", l["reason"])
				}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%v\nalerts: %+v\n%s", err, last, cluster.LogTail(filepath.Join(env.Dir, "logs", "prometheus.log"), 20))
	}
}
