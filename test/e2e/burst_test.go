//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// burstArgsEnv names extra flags for the webhook during the burst (by hand: the
// old client limits, E2E_BURST_WEBHOOK_ARGS='--kube-api-qps=5 --kube-api-burst=10',
// make the scenario fail).
const burstArgsEnv = "E2E_BURST_WEBHOOK_ARGS"

// Issue 12.3. A burst of 200 new Jobs, each with a pod created the moment its Job
// is, all at once (a goroutine per Job), as the Job controller does at a CronJob
// fan-out: the first pod of a Job the webhook's informer has not seen yet costs a
// direct GET, and at client-go's default 5 requests a second (bursts of 10) those
// queued past the lookup timeout and the pods ran unmonitored (so they do here with
// E2E_BURST_WEBHOOK_ARGS='--kube-api-qps=5 --kube-api-burst=10': docs/e2e.md).
// Every pod must be admitted monitored, with no owner-lookup error counted.
//
// The Jobs are suspended and their pods can never be scheduled (a node label no
// node has): the Job controller creates no pods of its own, and the kubelet runs
// none. Their run groups go to a Pushgateway of the scenario's own. It changes
// the shared webhook's load, so it does not run in parallel.
func TestBurstOfNewJobsIsMonitored(t *testing.T) {
	const jobs = 200
	ctx := ctxFor(t)
	if extra := strings.Fields(os.Getenv(burstArgsEnv)); len(extra) > 0 {
		if err := env.Webhook.Restart(ctx, extra...); err != nil {
			t.Fatal(err)
		}
		t.Logf("webhook replica 1 restarted with %q for this scenario", extra)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.Webhook.Restart(ctx); err != nil {
				t.Errorf("restart the webhook with its own flags: %v", err)
			}
		})
	}
	ns := namespace(t, "burst", true, nil)
	t.Cleanup(func() { deleteNamespace(t, ns) })
	pg, err := env.StartScratchPushgateway(ctx, "pushgateway-"+ns)
	if err != nil {
		t.Fatal(err)
	}
	before := admissions(t)

	// A client without client-side rate limit: the burst is as fast as the API
	// server takes it.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS = -1
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := podSpec("sh", "-c", "echo never runs")
	tmpl.Spec.NodeSelector = map[string]string{"jobcheck.io/e2e-node": "nowhere"}
	annotations := map[string]string{annEnabled: "true", annPushgateway: pg.URL}

	pods := make([]*corev1.Pod, jobs)
	errs := make([]error, jobs)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range jobs {
		wg.Go(func() {
			pods[i], errs[i] = jobAndPod(ctx, client, ns, fmt.Sprintf("burst-%03d", i), annotations, tmpl)
		})
	}
	wg.Wait()
	t.Logf("%d Jobs and their pods created in %v, a goroutine each", jobs, time.Since(start).Round(time.Millisecond))

	var unmonitored []string
	for i, p := range pods {
		switch {
		case errs[i] != nil:
			t.Errorf("Job %d: %v", i, errs[i])
		case p.Annotations[annInjected] == "":
			unmonitored = append(unmonitored, p.Name)
		}
	}
	if len(unmonitored) > 0 {
		t.Errorf("%d of %d pods admitted without monitoring: %v", len(unmonitored), jobs, unmonitored)
	}
	after := admissions(t)
	if d := after.errors - before.errors; d != 0 {
		t.Errorf("the webhook counted %v admission errors (%v of them owner lookups) during the burst", d, after.lookups-before.lookups)
	}
	if d := after.injected - before.injected; d < jobs {
		t.Errorf("the webhook counted %v injected admissions during the burst, want at least %d", d, jobs)
	}
	if after.unmonitored != before.unmonitored {
		t.Errorf("the webhook counted %v opted-in pods admitted unmonitored, want none", after.unmonitored-before.unmonitored)
	}
}

// jobAndPod creates a suspended Job and, right away, a pod it controls.
func jobAndPod(ctx context.Context, client kubernetes.Interface, ns, name string, annotations map[string]string, tmpl corev1.PodTemplateSpec) (*corev1.Pod, error) {
	job, err := client.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
		Spec:       batchv1.JobSpec{Suspend: ptr(true), BackoffLimit: ptr(int32(0)), Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create Job %s: %w", name, err)
	}
	pod, err := client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-pod", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}},
		Spec: tmpl.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod of Job %s: %w", name, err)
	}
	return pod, nil
}

// admitted is what the first webhook replica counted so far.
type admitted struct{ injected, errors, lookups, unmonitored float64 }

func admissions(t *testing.T) admitted {
	t.Helper()
	m, err := env.Webhook.ReplicaMetrics(ctxFor(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var a admitted
	a.injected, _ = m.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: admissionInjected})
	a.errors, _ = m.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: admissionError})
	a.lookups, _ = m.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: admissionError, LabelReason: reasonOwnerLookup})
	a.unmonitored, _ = m.Sum(MetricWebhookUnmonitoredPods, nil)
	return a
}

// deleteNamespace deletes a namespace and waits until it is gone, so that the
// scenarios after it do not share the machine with its deletion.
func deleteNamespace(t *testing.T, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", ns, err)
		return
	}
	if err := cluster.Poll(ctx, "namespace "+ns+" deleted", limit, func() (bool, error) {
		_, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Errorf("%v", err)
		return
	}
	t.Logf("namespace %s deleted in %v", ns, time.Since(start).Round(time.Millisecond))
}
