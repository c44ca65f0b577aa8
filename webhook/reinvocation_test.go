package webhook

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// TestReinvokedInjectedPodIsNotLookedUp: the API server calls the webhook a
// second time for a pod it injected (reinvocationPolicy IfNeeded: the
// service account plugin then mounts its token into the added init
// container). That call must not look the owner up again: under a burst of
// new Jobs the lookup can fail (seen on the real cluster with client-go's
// default rate limit), and the pod, monitored, was then counted as an
// admission error and, when it opted in on its own annotations, reported
// not monitored in an Event and in jobcheck_webhook_unmonitored_pods_total.
func TestReinvokedInjectedPodIsNotLookedUp(t *testing.T) {
	pod := testPod()
	pod.Annotations = map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationInjected: "v1.2.3"}
	lookups := 0
	h := newTestHandler(ownersFunc(func(context.Context, string, metav1.OwnerReference) (inject.Owner, error) {
		lookups++
		return inject.Owner{}, errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
	}))
	events := &eventLog{}
	h.opts.Events = events

	resp := serveReview(t, h, reviewOf(t, pod, false))

	if lookups != 0 {
		t.Errorf("%d owner lookups for a pod already injected, want none", lookups)
	}
	if resp.Patch != nil || len(resp.Warnings) != 0 {
		t.Errorf("answer patch %s, warnings %q; want neither", resp.Patch, resp.Warnings)
	}
	if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(resultSkipped, inject.ReasonAlreadyInjected)); got != 1 {
		t.Errorf("admissions_total{result=skipped,reason=already-injected} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(resultError, "owner-lookup")); got != 0 {
		t.Errorf("admissions_total{result=error,reason=owner-lookup} = %v, want 0", got)
	}
	if n := testutil.CollectAndCount(h.opts.Metrics.unmonitored); n != 0 {
		t.Errorf("unmonitored pods counted (%d series), want none", n)
	}
	if got := events.all(); len(got) != 0 {
		t.Errorf("Events %+v, want none", got)
	}
}
