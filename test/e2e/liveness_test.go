//go:build e2e

package e2e

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// Scenario 4. A run that blocks in silence past its max age: the injected liveness
// probe fails, the kubelet kills the container, and the run is reported as hung.
func TestHungRun(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s4-hung", true, nil)
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "stuck", Namespace: ns,
			Annotations: map[string]string{annEnabled: "true", "jobcheck.io/max-age": "5s"}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec("sleep", "3600")},
	})
	assertInjected(t, jobPods(t, job, 1)[0], "stuck", []string{"sleep", "3600"})

	failed := waitJob(t, job, batchv1.JobFailed)
	if failed.Status.Failed != 1 {
		t.Errorf("job failed %d pods, want 1", failed.Status.Failed)
	}
	pod := jobPods(t, job, 1)[0]
	var killed bool
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == "main" && s.State.Terminated != nil {
			killed = true
			if s.State.Terminated.ExitCode == 0 {
				t.Errorf("killed container exit code 0, want non-zero")
			}
		}
	}
	if !killed {
		t.Errorf("container main not terminated: %+v", pod.Status.ContainerStatuses)
	}
	if !probeFailed(t, ns, pod.Name) {
		t.Errorf("no Unhealthy (liveness probe failed) event for pod %s\n%s", pod.Name, describeJob(job))
	}
	g := group(t, "stuck", ns, "reason hung", hasReason("hung"))
	if v := value(t, g, "jobcheck_max_age_seconds", nil); v != 5 {
		t.Errorf("jobcheck_max_age_seconds = %v, want 5", v)
	}
	if v := value(t, g, "jobcheck_running", nil); v != 0 {
		t.Errorf("jobcheck_running = %v after the kill, want 0", v)
	}
}

// probeFailed reports whether the kubelet recorded a failed liveness probe for the pod.
func probeFailed(t *testing.T, ns, pod string) bool {
	evs, err := env.Client.CoreV1().Events(ns).List(ctxFor(t), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	for _, e := range evs.Items {
		if e.Reason == "Unhealthy" {
			return true
		}
	}
	return false
}

// Scenario 5. Deleting a running pod: the kubelet runs the preStop hook and the run
// is reported as terminated within the grace period.
func TestDeletedPodReportsTerminated(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s5-deleted", true, nil)
	tmpl := podSpec("sleep", "3600")
	tmpl.Spec.TerminationGracePeriodSeconds = ptr(int64(20))
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
	})
	pod := jobPods(t, job, 1)[0]
	assertInjected(t, pod, "victim", []string{"sleep", "3600"})
	// Running and reporting: the agent pushed its start.
	group(t, "victim", ns, "the run started", func(g *cluster.Group) bool {
		v, ok := g.Value("jobcheck_running", nil)
		return ok && v == 1
	})
	deleted := time.Now()
	if err := env.Client.CoreV1().Pods(ns).Delete(ctxFor(t), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	// The preStop hook pushes reason terminated while the wrapper still runs; the
	// wrapper's exit push then keeps it and sets jobcheck_running to 0. Wait for that.
	g := group(t, "victim", ns, "the run ended as terminated", func(g *cluster.Group) bool {
		v, ok := g.Value("jobcheck_running", nil)
		return hasReason("terminated")(g) && ok && v == 0
	})
	pushed := value(t, g, "push_time_seconds", nil)
	if grace := deleted.Add(20 * time.Second); pushed > float64(grace.Unix())+1 {
		t.Errorf("terminated pushed at %s, after the grace period ended (%s)", time.Unix(int64(pushed), 0), grace)
	}
	if v := value(t, g, "jobcheck_last_exit_code", nil); v != 143 {
		t.Errorf("jobcheck_last_exit_code = %v, want 143 (SIGTERM)", v)
	}
}
