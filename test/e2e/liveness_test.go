//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A run that blocks in silence past its max age: the injected liveness
// probe fails, the kubelet kills the container, the agent reports the attempt hung
// (exit 143: the child died of the SIGTERM), the run watcher reports the failed run,
// and the real Prometheus fires JobcheckJobHung.
func TestHungRun(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s4-hung", true, nil)
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "stuck", Namespace: ns,
			Annotations: map[string]string{annEnabled: "true", annMaxAge: "5s"}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec("sleep", "3600")},
	})
	assertInjected(t, jobPods(t, job, 1)[0], "stuck", []string{"sleep", "3600"})

	failed := waitJob(t, job, batchv1.JobFailed)
	if failed.Status.Failed != 1 {
		t.Errorf("job failed %d pods, want 1", failed.Status.Failed)
	}
	pod := jobPods(t, job, 1)[0]
	s := containerStatus(pod, "main")
	if s == nil || s.State.Terminated == nil || s.State.Terminated.ExitCode != 143 {
		t.Errorf("container main: %+v, want terminated with 143 (SIGTERM)", s)
	}
	if !probeFailed(t, ns, pod.Name) {
		t.Errorf("no Unhealthy (liveness probe failed) event for pod %s\n%s", pod.Name, describeJob(job))
	}
	g := group(t, "stuck", ns, "the hung attempt and the failed run",
		all(attemptReason(ReasonHung), has(MetricLastAttemptExitCode), runInfo(ResultFailed, conditionReason(t, failed, batchv1.JobFailed))))
	want(t, g, MetricLastAttemptInfo, map[string]string{LabelReason: ReasonHung, LabelDetail: "SIGTERM"}, 1)
	want(t, g, MetricLastAttemptExitCode, nil, 143)
	want(t, g, MetricMaxAge, nil, 5)
	want(t, g, MetricRunning, nil, 0)
	if hung := value(t, g, MetricLastHung, nil); hung < unix(pod.Status.StartTime) || hung > value(t, g, MetricLastAttemptEnd, nil) {
		t.Errorf("%s = %v, want between the pod's start %v and the attempt's end", MetricLastHung, hung, unix(pod.Status.StartTime))
	}
	alertFires(t, "JobcheckJobHung", runKey("stuck", ns))
}

// Hung, whatever the process does with the SIGTERM (docs/model.md): a process
// that traps SIGTERM and exits 143 on its own, as a JVM prints its shutdown and
// exits, is still hung, not terminated or failed.
func TestHungRunTrappingSIGTERM(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "hung-trap", true, nil)
	cmd := []string{"sh", "-c", `trap 'echo shutting down; exit 143' TERM; sleep 3600 & wait`}
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "jvm", Namespace: ns,
			Annotations: map[string]string{annEnabled: "true", annMaxAge: "5s"}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec(cmd...)},
	})
	failed := waitJob(t, job, batchv1.JobFailed)
	pod := jobPods(t, job, 1)[0]
	if !probeFailed(t, ns, pod.Name) {
		t.Errorf("no Unhealthy (liveness probe failed) event for pod %s\n%s", pod.Name, describeJob(job))
	}
	if out, err := env.ContainerLog(&pod, "main"); err != nil || !strings.Contains(out, "shutting down") {
		t.Errorf("the trap did not run (log %q, %v): the scenario needs a process that handles SIGTERM", out, err)
	}
	g := group(t, "jvm", ns, "the hung attempt and the failed run",
		all(attemptReason(ReasonHung), has(MetricLastAttemptExitCode), runInfo(ResultFailed, conditionReason(t, failed, batchv1.JobFailed))))
	// It exited with 143 itself: no signal killed it, so no signal in detail.
	want(t, g, MetricLastAttemptInfo, map[string]string{LabelReason: ReasonHung, LabelDetail: ""}, 1)
	want(t, g, MetricLastAttemptExitCode, nil, 143)
	value(t, g, MetricLastHung, nil)
	alertFires(t, "JobcheckJobHung", runKey("jvm", ns))
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

// Deleting a running pod: the kubelet runs the preStop hook, the agent
// forwards the SIGTERM, and the attempt is reported terminated (exit 143) by its
// agent within the grace period.
func TestDeletedPodReportsTerminated(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s5-deleted", true, nil)
	tmpl := podSpec("sleep", "3600")
	const grace = 20
	tmpl.Spec.TerminationGracePeriodSeconds = ptr(int64(grace))
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
	})
	pod := runningPod(t, job, "main")
	assertInjected(t, pod, "victim", []string{"sleep", "3600"})
	// The run watcher reports the run in progress.
	group(t, "victim", ns, "the run in progress", is(MetricRunning, nil, 1))
	deleted := time.Now()
	if err := env.Client.CoreV1().Pods(ns).Delete(ctxFor(t), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	// The preStop hook pushes reason terminated while the wrapper still runs; the
	// wrapper's exit push then replaces it with the whole attempt.
	g := group(t, "victim", ns, "the attempt ended as terminated",
		all(attemptReason(ReasonTerminated), is(MetricLastAttemptExitCode, nil, 143)))
	if end, by := value(t, g, MetricLastAttemptEnd, nil), deleted.Add(grace*time.Second); end > float64(by.Unix())+1 {
		t.Errorf("the attempt ended at %s, after the grace period (%s): it was killed, not reported by its agent",
			time.Unix(int64(end), 0), by)
	}
}
