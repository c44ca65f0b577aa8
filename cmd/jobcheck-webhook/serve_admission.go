package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
)

// The webhook's API client limits. client-go's defaults (5 requests per
// second, bursts of 10) are sized for a controller that mostly watches; the
// webhook also answers pods as fast as they are created, and a pod whose Job
// is not in the owner cache yet (always the case for the first pod of a
// Job created a moment before) costs up to two GETs, the Job and its
// CronJob, which must finish within --lookup-timeout. The Job controller
// creates pods at up to 20 per second in bursts of 30 (kube-controller-
// manager's --kube-api-qps and --kube-api-burst), each of its controllers
// with a limiter of its own, so a CronJob fan-out at midnight can send 30
// pods at once and 20 a second after that: 60 GETs at once and 40 a second,
// plus the Events of the pods that are not monitored. At 5 per second
// those lookups queued behind each other timed out and admitted pods
// unmonitored. The API server's own priority and fairness still protects it.
const (
	defaultKubeAPIQPS   = 50
	defaultKubeAPIBurst = 100
)

// kubeAPILimits are the client-side rate limits of the webhook's requests
// to the API server.
type kubeAPILimits struct {
	QPS   float32
	Burst int
}

// apply sets the limits on c; clients made from c afterwards use them.
func (l kubeAPILimits) apply(c *rest.Config) {
	c.QPS, c.Burst = l.QPS, l.Burst
}

// addAdmissionFlags registers serve's flags for the admission path's API
// client on fs. The returned function, called after fs.Parse, checks them;
// its error names the bad flag (exit 2).
func addAdmissionFlags(fs *flag.FlagSet) func() (kubeAPILimits, error) {
	qps := fs.Float64("kube-api-qps", defaultKubeAPIQPS,
		"requests per second the webhook may send the API server, per client (the owner lookup's; the Events' own): "+
			"the Job controller creates pods at up to 20/s and the first pod of a new Job costs two GETs")
	burst := fs.Int("kube-api-burst", defaultKubeAPIBurst,
		"requests the webhook may send the API server at once, above --kube-api-qps: "+
			"a CronJob fan-out brings the Job controller's bursts of 30 pods, two GETs each")
	return func() (kubeAPILimits, error) {
		switch {
		case !(*qps > 0) || *qps > 1e6:
			return kubeAPILimits{}, fmt.Errorf("--kube-api-qps %v: want a number of requests per second above 0", *qps)
		case *burst < 1:
			return kubeAPILimits{}, fmt.Errorf("--kube-api-burst %d: want 1 or more", *burst)
		}
		return kubeAPILimits{QPS: float32(*qps), Burst: *burst}, nil
	}
}

// eventComponent is the source of the webhook's Events (kubectl describe's
// "From" column).
const eventComponent = "jobcheck-webhook"

// newEventRecorder returns the recorder of the webhook's Events, sending
// them to the API server until ctx ends. It uses a client of its own made
// from c, so a burst of Events never takes the rate-limit tokens of the
// owner lookups. client-go's correlator in between counts repeats of an
// Event on one object (PATCH of its count) and rate-limits each object's
// Events (bursts of 25, then one per 5 minutes per replica): the Events
// need create and patch on core events, nothing else.
func newEventRecorder(ctx context.Context, c *rest.Config, log *slog.Logger) (record.EventRecorder, error) {
	client, err := kubernetes.NewForConfig(rest.CopyConfig(c))
	if err != nil {
		return nil, fmt.Errorf("events client: %w", err)
	}
	host, err := os.Hostname() // the pod's name in a cluster: which replica said it
	if err != nil {
		log.Warn("no host name for the Events' source", "err", err)
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: eventComponent, Host: host}), nil
}
