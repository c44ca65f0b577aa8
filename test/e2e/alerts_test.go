//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

var (
	promOnce sync.Once
	prom     *cluster.Prometheus
	promErr  error
)

// prometheus is the run's one real Prometheus (started by the first scenario that
// needs it): it evaluates the shipped manifests/prometheus/rules.yaml with their own
// `for:` and scrapes the Pushgateway with honor_labels (as
// manifests/prometheus/scrape-config.yaml says), the webhook's /metrics and the API
// server's /metrics.
func prometheus(t *testing.T) *cluster.Prometheus {
	t.Helper()
	promOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		prom, promErr = env.StartPrometheus(ctx, cluster.PrometheusOptions{
			Pushgateway: env.Pushgateway.URL,
			Webhooks:    env.Webhook.MetricsAddrs(),
			APIServer:   true,
			RuleFiles:   []string{filepath.Join(env.Root, "manifests", "prometheus", "rules.yaml")},
		})
	})
	if promErr != nil {
		t.Fatalf("start prometheus: %v", promErr)
	}
	return prom
}

// alertFires waits until alert fires with labels including want, and returns it.
func alertFires(t *testing.T, alert string, want map[string]string) cluster.Alert {
	t.Helper()
	p := prometheus(t)
	ctx := ctxFor(t)
	var last []cluster.Alert
	var got cluster.Alert
	err := cluster.Poll(ctx, fmt.Sprintf("%s firing for %v", alert, want), 5*time.Minute, func() (bool, error) {
		alerts, err := p.Alerts(ctx)
		if err != nil {
			return false, nil
		}
		last = alerts
		for _, a := range alerts {
			if a.Labels["alertname"] == alert && a.State == "firing" && matches(a.Labels, want) {
				got = a
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%v\nalerts: %+v\n%s", err, last, cluster.LogTail(filepath.Join(env.Dir, "logs", "prometheus.log"), 20))
	}
	return got
}

// alertQuiet checks that alert is neither pending nor firing for labels including
// want, once the state it is about (already in the Pushgateway) has been scraped
// and the rules evaluated after that scrape.
func alertQuiet(t *testing.T, alert string, want map[string]string) {
	t.Helper()
	p := prometheus(t)
	ctx := ctxFor(t)
	// A scrape (every second) after now, then an evaluation after that scrape.
	if err := p.Evaluated(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	alerts, err := p.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.Labels["alertname"] == alert && matches(a.Labels, want) {
			t.Errorf("%s is %s for %v: %+v", alert, a.State, want, a.Labels)
		}
	}
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}
