package webhook

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jobcheck/jobcheck/contract"
)

// Admission results, the values of the result label.
const (
	resultInjected = "injected"
	resultSkipped  = "skipped"
	resultError    = "error"
)

// Metrics are the webhook's Prometheus metrics, on a registry of their own
// (with the Go and process collectors) so that nothing else leaks into /metrics.
type Metrics struct {
	registry   *prometheus.Registry
	admissions *prometheus.CounterVec
	duration   prometheus.Histogram
	inflight   prometheus.Gauge
	// unmonitored counts the pods that opted in but run without jobcheck,
	// or with some containers unwrapped (docs/webhook.md, "Skips").
	unmonitored *prometheus.CounterVec
}

// NewMetrics registers the webhook's metrics. certNotAfter is asked at every
// scrape for the expiry of the certificate being served (zero: none loaded).
func NewMetrics(certNotAfter func() time.Time) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: contract.MetricWebhookAdmissions,
			Help: "Admission requests answered, by result (injected, skipped, error) and reason.",
		}, []string{"result", "reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jobcheck_webhook_admission_duration_seconds",
			Help:    "Time to answer an admission request, from the request read to the response written.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jobcheck_webhook_inflight_requests",
			Help: "Admission requests being handled.",
		}),
		unmonitored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: contract.MetricWebhookUnmonitoredPods,
			Help: "Pods that opted in to jobcheck but were admitted without monitoring, or with some containers unwrapped, by namespace, workload (job) and reason. Dry runs are not counted.",
		}, []string{contract.LabelNamespace, contract.LabelJob, contract.LabelReason}),
	}
	certExpiry := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: contract.MetricWebhookCertificateExpiry,
		Help: "Expiry (notAfter, Unix seconds) of the serving certificate in use; 0 when none is loaded.",
	}, func() float64 {
		t := certNotAfter()
		if t.IsZero() {
			return 0
		}
		return float64(t.Unix())
	})
	m.registry.MustRegister(m.admissions, m.duration, m.inflight, m.unmonitored, certExpiry,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registerer is the registry /metrics serves, for the metrics of the
// webhook's other parts (the run watcher, the image lookup, the certificate).
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *Metrics) observe(result, reason string, d time.Duration) {
	m.admissions.WithLabelValues(result, reason).Inc()
	m.duration.Observe(d.Seconds())
}
