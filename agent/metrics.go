package agent

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of the public contract (design.md).
const (
	mLastStart      = "jobcheck_last_start_timestamp_seconds"
	mRunning        = "jobcheck_running"
	mHeartbeat      = "jobcheck_heartbeat_timestamp_seconds"
	mLastCompletion = "jobcheck_last_completion_timestamp_seconds"
	mLastSuccess    = "jobcheck_last_success_timestamp_seconds"
	mLastFailure    = "jobcheck_last_failure_timestamp_seconds"
	mLastDuration   = "jobcheck_last_duration_seconds"
	mLastExitCode   = "jobcheck_last_exit_code"
	mLastRunInfo    = "jobcheck_last_run_info"
	mConsecFailures = "jobcheck_consecutive_failures"
	mMaxAge         = "jobcheck_max_age_seconds"
	mNextDeadline   = "jobcheck_next_run_deadline_timestamp_seconds"
)

// Each push carries only the metrics of that moment: the Pushgateway's POST
// replaces the metrics named in the push and keeps the others of the group, so
// a failed run, which does not push mLastSuccess, leaves the last success alone.

func gauge(name, help string, v float64) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	g.Set(v)
	return g
}

func ts(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// common are the metrics pushed both at start and at exit.
func common(maxAge time.Duration, deadline time.Time) []prometheus.Collector {
	c := []prometheus.Collector{gauge(mMaxAge, "Heartbeat age at which the job counts as hung.", maxAge.Seconds())}
	if !deadline.IsZero() {
		c = append(c, gauge(mNextDeadline, "Next scheduled run plus grace: the job is overdue after it.", ts(deadline)))
	}
	return c
}

func startMetrics(start time.Time, maxAge time.Duration, deadline time.Time) []prometheus.Collector {
	return append(common(maxAge, deadline),
		gauge(mLastStart, "When the last run started.", ts(start)),
		gauge(mRunning, "1 while a run is in progress.", 1),
		heartbeatMetric(start))
}

func heartbeatMetric(last time.Time) prometheus.Collector {
	return gauge(mHeartbeat, "Last sign of life of the running job.", ts(last))
}

// result is what a finished run reports.
type result struct {
	start, end time.Time
	code       int
	reason     string
	failures   float64 // consecutive failures including this run
}

func exitMetrics(r result, maxAge time.Duration, deadline time.Time) []prometheus.Collector {
	c := append(common(maxAge, deadline),
		gauge(mRunning, "1 while a run is in progress.", 0),
		gauge(mLastCompletion, "When the last run ended, whatever its outcome.", ts(r.end)),
		gauge(mLastDuration, "Duration of the last run.", r.end.Sub(r.start).Seconds()),
		gauge(mLastExitCode, "Exit code of the last run (128+N for death by signal N).", float64(r.code)),
		gauge(mConsecFailures, "Failed runs in a row.", r.failures),
		runInfo(r.reason))
	if r.reason == reasonSucceeded {
		return append(c, gauge(mLastSuccess, "When the last successful run ended.", ts(r.end)))
	}
	return append(c, gauge(mLastFailure, "When the last failed run ended.", ts(r.end)))
}

func runInfo(reason string) prometheus.Collector {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mLastRunInfo, Help: "Outcome of the last run, as the reason label."}, []string{"reason"})
	v.WithLabelValues(reason).Set(1)
	return v
}
