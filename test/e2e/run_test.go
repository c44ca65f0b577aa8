//go:build e2e

package e2e

import (
	"math"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// Scenario 2. A run of an annotated CronJob completes on the kubelet, and the
// Pushgateway holds its metrics under job=<CronJob name>, namespace=<namespace>.
func TestFullRun(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s2-run", true, nil)
	start := float64(time.Now().Unix())
	cmd := []string{"sh", "-c", "echo working; sleep 2; echo done"}
	cj := createCronJob(t, cronJob(ns, "nightly", "0 3 * * *", map[string]string{annEnabled: "true"}, podSpec(cmd...), 0))
	job := runCronJob(t, cj, "nightly-manual", nil)

	pod := jobPods(t, job, 1)[0]
	assertInjected(t, pod, "nightly", cmd)
	done := waitJob(t, job, batchv1.JobComplete)
	if done.Status.Succeeded != 1 || done.Status.Failed != 0 {
		t.Errorf("job status succeeded=%d failed=%d, want 1 and 0", done.Status.Succeeded, done.Status.Failed)
	}

	g := group(t, "nightly", ns, "a finished run", hasReason("succeeded"))
	if len(g.Labels) != 2 {
		t.Errorf("grouping key %v, want only job and namespace (never the pod)", g.Labels)
	}
	if v := value(t, g, "jobcheck_last_exit_code", nil); v != 0 {
		t.Errorf("jobcheck_last_exit_code = %v, want 0", v)
	}
	now := float64(time.Now().Unix())
	success := value(t, g, "jobcheck_last_success_timestamp_seconds", nil)
	if success < start || success > now+1 {
		t.Errorf("jobcheck_last_success_timestamp_seconds = %v, want within this run [%v, %v]", success, start, now)
	}
	if d := value(t, g, "jobcheck_last_duration_seconds", nil); d < 2 {
		t.Errorf("jobcheck_last_duration_seconds = %v, want at least the 2s the command sleeps", d)
	}
	if v := value(t, g, "jobcheck_running", nil); v != 0 {
		t.Errorf("jobcheck_running = %v after the run, want 0", v)
	}
	// Next run: the next 03:00 UTC after the run, plus the default grace (5m).
	deadline := value(t, g, "jobcheck_next_run_deadline_timestamp_seconds", nil)
	next := nextDaily(time.Unix(int64(start), 0).UTC(), 3)
	if want := float64(next.Add(5 * time.Minute).Unix()); math.Abs(deadline-want) > 1 {
		t.Errorf("jobcheck_next_run_deadline_timestamp_seconds = %v (%s), want %v (%s: next 03:00 UTC + 5m grace)",
			deadline, time.Unix(int64(deadline), 0).UTC(), want, next.Add(5*time.Minute))
	}
}

// A pod that wraps two containers reports each under its own group, with
// container in the grouping key; a one-container job never has it (TestFullRun).
func TestTwoContainersReportSeparately(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "two-containers", true, nil)
	tmpl := podSpec("sh", "-c", "echo loading; exit 0")
	tmpl.Spec.Containers[0].Name = "load"
	second := tmpl.Spec.Containers[0]
	second.Name, second.Command = "index", []string{"sh", "-c", "echo indexing; exit 4"}
	tmpl.Spec.Containers = append(tmpl.Spec.Containers, second)
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pair", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
	})
	waitJob(t, job, batchv1.JobFailed)
	for _, c := range []struct {
		name, reason string
		code         float64
	}{{"load", "succeeded", 0}, {"index", "failed", 4}} {
		key := map[string]string{"job": "pair", "namespace": ns, "container": c.name}
		g := groupBy(t, key, "the "+c.name+" container's run", hasReason(c.reason))
		if v := value(t, g, "jobcheck_last_exit_code", nil); v != c.code {
			t.Errorf("container %s: jobcheck_last_exit_code = %v, want %v", c.name, v, c.code)
		}
	}
	if g, err := env.Pushgateway.Group(ctxFor(t), map[string]string{"job": "pair", "namespace": ns}); err != nil || g != nil {
		t.Errorf("a group without container for a two-container pod: %+v (%v)", g, err)
	}
}

// nextDaily is the first hour:00 UTC strictly after t.
func nextDaily(t time.Time, hour int) time.Time {
	n := time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, time.UTC)
	if !n.After(t) {
		n = n.AddDate(0, 0, 1)
	}
	return n
}

// Scenario 3 (and 10). A failing run after a successful one: its exit code is
// reported, the Job fails as backoffLimit says, the earlier success stays, and a real
// Prometheus evaluating the shipped rules fires the failed-job alert.
func TestFailingRunKeepsLastSuccess(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s3-fail", true, nil)
	cj := createCronJob(t, cronJob(ns, "flaky", "*/30 * * * *", map[string]string{annEnabled: "true"},
		podSpec("sh", "-c", "echo failing; exit 3"), 1))

	ok := runCronJob(t, cj, "flaky-ok", func(j *batchv1.Job) {
		j.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "echo fine"}
	})
	waitJob(t, ok, batchv1.JobComplete)
	g := group(t, "flaky", ns, "the successful run", hasReason("succeeded"))
	success := value(t, g, "jobcheck_last_success_timestamp_seconds", nil)

	bad := runCronJob(t, cj, "flaky-bad", nil)
	failed := waitJob(t, bad, batchv1.JobFailed)
	if failed.Status.Failed != 2 {
		t.Errorf("job failed %d pods, want 2 (backoffLimit 1)", failed.Status.Failed)
	}
	for _, c := range failed.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Reason != "BackoffLimitExceeded" {
			t.Errorf("job failed with reason %q, want BackoffLimitExceeded", c.Reason)
		}
	}
	g = group(t, "flaky", ns, "both failed runs", func(g *cluster.Group) bool {
		n, ok := g.Value("jobcheck_consecutive_failures", nil)
		return hasReason("failed")(g) && ok && n >= 2
	})
	if v := value(t, g, "jobcheck_last_exit_code", nil); v != 3 {
		t.Errorf("jobcheck_last_exit_code = %v, want 3", v)
	}
	if v := value(t, g, "jobcheck_last_success_timestamp_seconds", nil); v != success {
		t.Errorf("jobcheck_last_success_timestamp_seconds = %v after the failures, want the earlier success %v", v, success)
	}
	if v := value(t, g, "jobcheck_last_failure_timestamp_seconds", nil); v < success {
		t.Errorf("jobcheck_last_failure_timestamp_seconds = %v, want after the success %v", v, success)
	}

	t.Run("Prometheus fires the failed-job alert", func(t *testing.T) {
		alertFires(t, "flaky", ns)
	})
}
