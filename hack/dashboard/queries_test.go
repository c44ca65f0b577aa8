package main

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// pusher pushes a workload's metrics to a real Pushgateway as the run
// watcher and the agent do (POST, contract's HELP texts), one group per
// workload (a one-container, non-indexed job: run and attempt groups are
// the same).
type pusher struct {
	t   *testing.T
	c   *pushgateway.Client
	ns  string
	job string
}

func (p pusher) push(samples ...pushgateway.Sample) {
	p.t.Helper()
	if err := p.c.Add(context.Background(), contract.Grouping(p.job, p.ns, "", ""), samples); err != nil {
		p.t.Fatal(err)
	}
}

func gauge(name string, v float64, labels ...string) pushgateway.Sample {
	s := pushgateway.Sample{Name: name, Value: v}
	for i := 0; i+1 < len(labels); i += 2 {
		s.Labels = append(s.Labels, [2]string{labels[i], labels[i+1]})
	}
	return s
}

// webhookMetrics serves the webhook's two counters the dashboard reads, with
// its metric and label names, in client_golang's exposition. It stands in
// for the webhook's /metrics, which the end-to-end tests scrape for real.
func webhookMetrics(t *testing.T) (admissions, unmonitored *prometheus.CounterVec, addr string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	admissions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricAdmissions, Help: "admissions"},
		[]string{contract.LabelResult, contract.LabelReason})
	unmonitored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricUnmonitoredPods, Help: "unmonitored"},
		[]string{contract.LabelNamespace, contract.LabelJob, contract.LabelReason})
	reg.MustRegister(admissions, unmonitored)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return admissions, unmonitored, strings.TrimPrefix(srv.URL, "http://")
}

// TestQueriesOnPrometheus reports a few runs and attempts to a real
// Pushgateway scraped by a real Prometheus and runs every query of the
// dashboard: each must parse, return the series of the workloads that did
// what it needs, with the values the dashboard is meant to show, and none
// for a namespace no workload is in.
func TestQueriesOnPrometheus(t *testing.T) {
	pg, err := pushgatewaytest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	admissions, unmonitored, webhook := webhookMetrics(t)
	p := startPrometheus(t, map[string]string{
		"pushgateway":      strings.TrimPrefix(pg.URL, "http://"),
		"jobcheck-webhook": webhook,
	})
	client, err := pushgateway.New(pg.URL, nil, contract.Help)
	if err != nil {
		t.Fatal(err)
	}

	// seen waits until Prometheus has scraped the value v of metric for job
	// (a workload's): the next state is then seen at another scrape.
	seen := func(job, metric string, v float64) {
		t.Helper()
		expr := fmt.Sprintf(`%s{job=%q} == %g`, metric, job, v)
		eventually(t, expr, func() error {
			s, err := p.query(expr, 0, 0)
			if err == nil && len(s) == 0 {
				err = fmt.Errorf("no series yet")
			}
			return err
		})
	}

	now := float64(time.Now().Unix())
	start, deadline := now-100, now+3600
	nightly := pusher{t, client, "batch", "nightly"}
	nightly.push(gauge(contract.MetricRunning, 1), gauge(contract.MetricLastStart, start),
		gauge(contract.MetricNextRunDeadline, deadline), gauge(contract.MetricSuspended, 0))
	seen("nightly", contract.MetricRunning, 1)

	// Two runs fail, for two reasons, each after an attempt that failed
	// its own way; the third succeeds.
	runs := []struct {
		result, reason, attempt, detail string
		consecutive                     float64
	}{
		{contract.ResultFailed, "BackoffLimitExceeded", contract.ReasonFailed, "Error", 1},
		{contract.ResultFailed, "DeadlineExceeded", contract.ReasonOOMKilled, "OOMKilled", 2},
		{contract.ResultSucceeded, "CompletionsReached", contract.ReasonSucceeded, "", 0},
	}
	for i, r := range runs {
		end := start + float64(10*(i+1))
		s := []pushgateway.Sample{
			gauge(contract.MetricRunning, 0),
			gauge(contract.MetricLastCompletion, end),
			gauge(contract.MetricLastDuration, float64(40-i)),
			gauge(contract.MetricLastRunInfo, 1, contract.LabelResult, r.result, contract.LabelReason, r.reason),
			gauge(contract.MetricConsecutiveFailures, r.consecutive),
			gauge(contract.MetricLastAttemptInfo, 1, contract.LabelReason, r.attempt, contract.LabelDetail, r.detail),
			gauge(contract.MetricLastAttemptEnd, end),
			gauge(contract.MetricLastAttemptDuration, float64(39-i)),
		}
		if r.result == contract.ResultFailed {
			s = append(s, gauge(contract.MetricLastFailure, end),
				gauge(contract.MetricLastFailureInfo, 1, contract.LabelReason, r.reason, contract.LabelFailedIndexes, ""))
		} else {
			s = append(s, gauge(contract.MetricLastSuccess, end), gauge(contract.MetricLastSuccessStart, end-5))
		}
		nightly.push(s...)
		seen("nightly", contract.MetricLastCompletion, end)
	}

	// Another workload is running and hung.
	report := pusher{t, client, "batch", "report"}
	report.push(gauge(contract.MetricRunning, 1), gauge(contract.MetricLastStart, start),
		gauge(contract.MetricLastHung, float64(time.Now().Unix())), gauge(contract.MetricMaxAge, 60))
	seen("report", contract.MetricRunning, 1)

	// The webhook admits pods, one that opted in unmonitored.
	admissions.WithLabelValues("injected", "").Add(3)
	admissions.WithLabelValues("skipped", "not-opted-in").Inc()
	unmonitored.WithLabelValues("batch", "legacy", "no-command").Inc()
	seen("legacy", metricUnmonitoredPods, 1)
	admissions.WithLabelValues("injected", "").Inc()
	admissions.WithLabelValues("skipped", "not-opted-in").Inc()
	unmonitored.WithLabelValues("batch", "legacy", "no-command").Inc()

	vars := exported().Variables
	vars[varResolution] = "1s" // the scrape interval
	vars["__rate_interval"] = "1m"
	nightlyKey, reportKey := "batch/nightly", "batch/report"
	want := map[string]map[string]float64{ // panel refId -> series key -> value (-1: any above 0)
		"Workloads A":           {nightlyKey + " succeeded CompletionsReached": 1},
		"Workloads B":           {nightlyKey: (start + 30) * 1000},
		"Workloads C":           {nightlyKey: -1},
		"Workloads D":           {nightlyKey: 0, reportKey: 1},
		"Workloads E":           {nightlyKey: 0, reportKey: 1},
		"Workloads F":           {nightlyKey: deadline * 1000},
		"Workloads G":           {nightlyKey: 0},
		panelDuration + " A":    {nightlyKey: 38},
		panelFailedRuns + " A":  {nightlyKey + " BackoffLimitExceeded": 1, nightlyKey + " DeadlineExceeded": 1},
		panelAttempts + " A":    {nightlyKey + " failed": 1, nightlyKey + " oom_killed": 1},
		panelRunning + " A":     {nightlyKey: 0, reportKey: 1},
		panelAdmissions + " A":  {"injected ": -1, "skipped not-opted-in": -1},
		panelUnmonitored + " A": {"batch/legacy no-command": 2},
	}
	for _, q := range allQueries() {
		name := q.Panel + " " + q.RefID
		expr := expand(q.Expr, vars)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expectation for this query", name)
			continue
		}
		var got map[string]float64
		eventually(t, name, func() error {
			s, err := p.query(expr, 0, 0)
			if err != nil {
				return err
			}
			got = keyed(s)
			if !matches(got, w) {
				return fmt.Errorf("series %v, want %v", got, w)
			}
			return nil
		})
		// The same as a range query, as Grafana runs the graphs.
		if !q.Instant {
			s, err := p.query(expr, time.Minute, 15*time.Second)
			if err != nil || len(s) == 0 {
				t.Errorf("%s as a range query: %d series, %v", name, len(s), err)
			}
		}
		// A namespace no workload is in selects nothing.
		if strings.Contains(q.Expr, "$"+varNamespace) {
			other := maps.Clone(vars)
			other[varNamespace] = "elsewhere"
			if s, err := p.query(expand(q.Expr, other), 0, 0); err != nil || len(s) != 0 {
				t.Errorf("%s in namespace elsewhere: %v %v, want nothing", name, keyed(s), err)
			}
		}
	}

	// As bars, one per interval, the failure panels count each failure
	// once: in exactly one interval, whatever the interval.
	for _, interval := range []time.Duration{2 * time.Second, 5 * time.Second} {
		bars := maps.Clone(vars)
		bars["__interval"] = interval.String()
		// Grafana aligns a range query's start and end on its step.
		end := time.Now().Truncate(interval).Add(2 * interval)
		begin := time.Unix(int64(start), 0).Add(-time.Minute).Truncate(interval)
		for _, panel := range []string{panelFailedRuns, panelAttempts} {
			s, err := p.queryRange(expand(panelQuery(panel, "A").Expr, bars), begin, end, interval, true)
			if got := keyed(s); err != nil || !matches(got, want[panel+" A"]) {
				t.Errorf("%s in bars of %s: totals %v %v, want %v", panel, interval, got, err, want[panel+" A"])
			}
		}
	}

	for _, lv := range variableQueries() {
		wantValues := map[string][]string{varNamespace: {"batch"}, varJob: {"legacy", "nightly", "report"}}[lv.Variable]
		got, err := p.labelValues(expand(lv.Match, vars), lv.Label)
		if err != nil || !slices.Equal(got, wantValues) {
			t.Errorf("variable %s: label_values %v %v, want %v", lv.Variable, got, err, wantValues)
		}
	}
}

// keyed is a query's result by namespace/job and the other labels the
// dashboard shows (result, reason), scrape labels left out.
func keyed(s []series) map[string]float64 {
	out := map[string]float64{}
	for _, x := range s {
		m := x.Metric
		var parts []string
		if m[contract.LabelJob] != "" {
			parts = append(parts, m[contract.LabelNamespace]+"/"+m[contract.LabelJob])
		}
		for _, l := range []string{contract.LabelResult, contract.LabelReason} {
			if v, ok := m[l]; ok || (l == contract.LabelReason && m[contract.LabelResult] != "") {
				parts = append(parts, v)
			}
		}
		out[strings.Join(parts, " ")] = x.value()
	}
	return out
}

// matches says whether got has exactly want's keys, with want's values
// (-1: any positive value).
func matches(got, want map[string]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || (w == -1 && g <= 0) || (w != -1 && g != w) {
			return false
		}
	}
	return true
}
