//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// The two scenarios here change the shared webhook, so they do not run in parallel:
// Go runs them before the parallel scenarios start.

// With the webhook down, pods are still created (failurePolicy Ignore),
// not injected, and the Job runs; once it is back, pods are injected again.
func TestWebhookDown(t *testing.T) {
	ns := namespace(t, "s7-down", true, nil)
	cmd := []string{"sh", "-c", "echo without jobcheck"}
	annotated := map[string]string{annEnabled: "true"}
	if err := env.Webhook.Stop(); err != nil {
		t.Fatalf("stop webhook: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.Webhook.Start(ctx); err != nil {
				t.Errorf("restart webhook: %v", err)
			}
		}
	})

	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "while-down", Namespace: ns, Annotations: annotated},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec(cmd...)},
	})
	waitJob(t, job, batchv1.JobComplete)
	assertNotInjected(t, jobPods(t, job, 1)[0])

	// Issue 12.2: the webhook cannot count calls that never reach it; the API
	// server does, and the shipped JobcheckWebhookUnreachable rule reads it.
	apiMetrics, err := env.APIGet(ctxFor(t), "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	api, err := cluster.ParseMetrics(bytes.NewReader(apiMetrics))
	if err != nil {
		t.Fatal(err)
	}
	const failOpen = "apiserver_admission_webhook_fail_open_count"
	if n, _ := api.Sum(failOpen, map[string]string{"name": "pods.jobcheck.io"}); n == 0 {
		t.Errorf("the API server counts no fail-open call of pods.jobcheck.io: %+v", api[failOpen])
	}
	alertFires(t, "JobcheckWebhookUnreachable", nil)

	if err := env.Webhook.Start(ctxFor(t)); err != nil {
		t.Fatalf("restart webhook: %v", err)
	}
	restarted = true
	again := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "after-restart", Namespace: ns, Annotations: annotated},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec(cmd...)},
	})
	assertInjected(t, jobPods(t, again, 1)[0], "after-restart", cmd)
	waitJob(t, again, batchv1.JobComplete)

	// What an operator scrapes: the restarted webhook counts the injection.
	m, err := env.Webhook.ReplicaMetrics(ctxFor(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: admissionInjected}); n < 1 {
		t.Errorf("webhook /metrics counts no injected admission: %+v", m[MetricWebhookAdmissions])
	}
}

// The serving certificate is replaced (a new one from the same CA, as
// cert-manager renews it) while pods are being created: every pod is still created
// and injected, and the webhook serves the new certificate without a restart.
func TestCertificateRotation(t *testing.T) {
	ns := namespace(t, "s8-rotate", true, nil)
	ctx := ctxFor(t)
	// The webhook starts with the certificate of `jobcheck-webhook certs`, whose CA key
	// the tool does not keep: first move to a certificate of the harness's renewal CA
	// (also in the caBundle), so that the rotation under load is CA A -> CA A.
	before, err := env.Webhook.RenewCert()
	if err != nil {
		t.Fatal(err)
	}
	waitServed(t, before)
	// An owner Job whose pods never get scheduled (no node has the label): the pods
	// below are admitted as its pods but never run, so the test creates many cheaply.
	nowhere := map[string]string{"jobcheck.io/e2e-node": "nowhere"}
	tmpl := podSpec("sh", "-c", "echo never runs")
	tmpl.Spec.NodeSelector = nowhere
	owner := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
	})

	const pods = 40
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []*corev1.Pod
		errs    []error
	)
	renewed := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range pods {
			if i == pods/4 {
				close(renewed) // the certificate is replaced while creation goes on
			}
			p, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%02d", i),
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job",
						Name: owner.Name, UID: owner.UID, Controller: ptr(true)}}},
				Spec: tmpl.Spec,
			}, metav1.CreateOptions{})
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			} else {
				created = append(created, p)
			}
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	<-renewed
	newCert, err := env.Webhook.RenewCert()
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	if len(errs) > 0 {
		t.Errorf("%d pod creations failed during the rotation, first: %v", len(errs), errs[0])
	}
	for _, p := range created {
		if _, ok := p.Annotations[annInjected]; !ok {
			t.Errorf("pod %s created during the rotation was not injected", p.Name)
		}
	}
	if newCert.Issuer.String() != before.Issuer.String() || newCert.SerialNumber.Cmp(before.SerialNumber) == 0 {
		t.Fatalf("test setup: renewal issuer %s serial %v, want a new certificate from %s", newCert.Issuer, newCert.SerialNumber, before.Issuer)
	}
	waitServed(t, newCert)
	// And the API server, trusting the same CA, still reaches it: a pod after the rotation.
	p, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "after",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job",
				Name: owner.Name, UID: owner.UID, Controller: ptr(true)}}},
		Spec: tmpl.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod after rotation: %v", err)
	}
	if _, ok := p.Annotations[annInjected]; !ok {
		t.Errorf("pod created after the rotation was not injected")
	}
}

// waitServed waits until the webhook presents want (it reloads changed files by itself).
func waitServed(t *testing.T, want *x509.Certificate) {
	t.Helper()
	var served *x509.Certificate
	if err := cluster.Poll(ctxFor(t), "the webhook to serve the new certificate", time.Minute, func() (bool, error) {
		c, err := env.Webhook.ServedCert()
		if err != nil {
			return false, nil
		}
		served = c
		return c.SerialNumber.Cmp(want.SerialNumber) == 0, nil
	}); err != nil {
		if served != nil {
			t.Fatalf("%v: serving serial %v, want %v", err, served.SerialNumber, want.SerialNumber)
		}
		t.Fatal(err)
	}
}
