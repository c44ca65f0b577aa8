package runs

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobcheck/jobcheck/contract"
)

// Values of the result label of the watcher's own push and read-back counters.
const (
	resultSuccess = "success"
	resultError   = "error"
)

// metrics are the watcher's own metrics, on the webhook's registry: with
// them an alert can tell that no replica reports runs (the sum of
// jobcheck_runwatch_leader is 0) or that reporting fails.
type metrics struct {
	leader    prometheus.Gauge
	workloads prometheus.Gauge
	pushes    *prometheus.CounterVec
	readBacks *prometheus.CounterVec
	runs      *prometheus.CounterVec
	attempts  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: contract.MetricRunwatchLeader,
			Help: "1 while this replica holds the run watcher's Lease and reports runs.",
		}),
		workloads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jobcheck_runwatch_workloads",
			Help: "Workloads the run watcher follows (0 on a replica that is not the leader).",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: contract.MetricRunwatchPushes,
			Help: "Pushes of the run watcher to Pushgateways, by result (success, error).",
		}, []string{"result"}),
		readBacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: contract.MetricRunwatchReadBacks,
			Help: "Read-backs of a Pushgateway's run metrics by a new leader, by result (success, error); nothing is pushed to a Pushgateway until one succeeds.",
		}, []string{"result"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobcheck_runwatch_runs_total",
			Help: "Finished runs (Jobs) the run watcher reported, by result (succeeded, failed, stopped).",
		}, []string{"result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobcheck_runwatch_attempts_total",
			Help: "Attempts the run watcher reported because their agent could not, by reason (oom_killed, terminated, signaled, lost, not_started).",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.leader, m.workloads, m.pushes, m.readBacks, m.runs, m.attempts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register run watcher metrics: %w", err)
		}
	}
	// Every series exists from the start, so that rate() and absence alerts see zeros.
	for _, r := range []string{resultSuccess, resultError} {
		m.pushes.WithLabelValues(r)
		m.readBacks.WithLabelValues(r)
	}
	return m, nil
}
