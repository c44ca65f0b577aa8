package imageconfig

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The result label of jobcheck_webhook_image_lookups_total.
const (
	resultHit   = "hit"   // answered from the cache
	resultMiss  = "miss"  // read from the registry
	resultStale = "stale" // the registry failed: what a tag pointed to before was used
	resultError = "error" // no answer: the container is not wrapped
)

// metrics are the lookup's Prometheus metrics.
type metrics struct {
	lookups  *prometheus.CounterVec
	registry prometheus.Histogram
}

// newMetrics makes the metrics and registers them on reg when not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobcheck_webhook_image_lookups_total",
			Help: "Image ENTRYPOINT/CMD lookups by result: hit (cache), miss (registry), stale (registry failed, previous digest of the tag used), error (container not wrapped).",
		}, []string{"result"}),
		registry: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jobcheck_webhook_image_registry_duration_seconds",
			Help:    "Time to read an image's config from its registry, including reads that went on in the background past the admission's budget.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30},
		}),
	}
	for _, r := range []string{resultHit, resultMiss, resultStale, resultError} {
		m.lookups.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lookups, m.registry} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("image lookup metrics: %w", err)
		}
	}
	return m, nil
}
