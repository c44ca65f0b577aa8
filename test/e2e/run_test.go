//go:build e2e

package e2e

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A run of an annotated CronJob completes on the kubelet. The run
// watcher reports the run from the Job object and the agent reports its one
// attempt, both under job=<CronJob name>, namespace=<namespace> (one group:
// one container, not indexed), with the next-run deadline of the CronJob.
func TestFullRun(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s2-run", true, nil)
	cmd := []string{"sh", "-c", "echo working; sleep 2; echo done"}
	cj := createCronJob(t, cronJob(ns, "nightly", "0 3 * * *", map[string]string{annEnabled: "true"}, podSpec(cmd...), 0))
	job := runCronJob(t, cj, "nightly-manual", nil)

	pod := jobPods(t, job, 1)[0]
	assertInjected(t, pod, "nightly", cmd)
	done := waitJob(t, job, batchv1.JobComplete)
	if done.Status.Succeeded != 1 || done.Status.Failed != 0 {
		t.Errorf("job status succeeded=%d failed=%d, want 1 and 0", done.Status.Succeeded, done.Status.Failed)
	}
	reason := conditionReason(t, done, batchv1.JobComplete)

	g := group(t, "nightly", ns, "the run and its attempt",
		all(runInfo(ResultSucceeded, reason), attemptReason(ReasonSucceeded), is(MetricRunning, nil, 0)))
	if len(g.Labels) != 2 {
		t.Errorf("grouping key %v, want only job and namespace (never the pod)", g.Labels)
	}
	start, end := unix(done.Status.StartTime), unix(done.Status.CompletionTime)
	// The run, as the Job object says.
	want(t, g, MetricLastStart, nil, start)
	want(t, g, MetricLastCompletion, nil, end)
	want(t, g, MetricLastDuration, nil, end-start)
	want(t, g, MetricLastSuccess, nil, end)
	want(t, g, MetricLastSuccessStart, nil, start)
	want(t, g, MetricConsecutiveFailures, nil, 0)
	absent(t, g, MetricLastFailure)
	// The attempt, as its agent saw it.
	want(t, g, MetricLastAttemptExitCode, nil, 0)
	want(t, g, MetricMaxAge, nil, DefaultMaxAge.Seconds())
	if d := value(t, g, MetricLastAttemptDuration, nil); d < 2 {
		t.Errorf("%s = %v, want at least the 2s the command sleeps", MetricLastAttemptDuration, d)
	}
	if e := value(t, g, MetricLastAttemptEnd, nil); e < start || e > end+1 {
		t.Errorf("%s = %v, want within the run [%v, %v]", MetricLastAttemptEnd, e, start, end)
	}
	// The CronJob is suspended and its run was started by hand: it has no
	// lastScheduleTime, so the next run is the first 03:00 UTC after its
	// creation, and the deadline that plus the default grace.
	cj, err := env.Client.BatchV1().CronJobs(ns).Get(ctxFor(t), cj.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		from = cj.Status.LastScheduleTime.Time
	}
	next := nextDaily(from.UTC(), 3)
	if got, w := value(t, g, MetricNextRunDeadline, nil), float64(next.Add(DefaultGrace).Unix()); got != w {
		t.Errorf("%s = %v (%s), want %v (%s: next 03:00 UTC + %v grace)", MetricNextRunDeadline,
			got, time.Unix(int64(got), 0).UTC(), w, next.Add(DefaultGrace), DefaultGrace)
	}
	want(t, g, MetricSuspended, nil, 1)
}

// A pod that wraps two containers reports each attempt in its own group, with
// container in the grouping key; the run is one, in the run group, which holds
// no attempt metrics.
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
	failed := waitJob(t, job, batchv1.JobFailed)
	for _, c := range []struct {
		name, reason string
		code         float64
	}{{"load", ReasonSucceeded, 0}, {"index", ReasonFailed, 4}} {
		g := groupBy(t, attemptKey("pair", ns, LabelContainer, c.name), "the "+c.name+" container's attempt", attemptReason(c.reason))
		want(t, g, MetricLastAttemptExitCode, nil, c.code)
	}
	g := group(t, "pair", ns, "the failed run", runInfo(ResultFailed, conditionReason(t, failed, batchv1.JobFailed)))
	want(t, g, MetricConsecutiveFailures, nil, 1)
	absent(t, g, MetricLastAttemptInfo)
	absent(t, g, MetricLastAttemptExitCode)
}

// nextDaily is the first hour:00 UTC strictly after t.
func nextDaily(t time.Time, hour int) time.Time {
	n := time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, time.UTC)
	if !n.After(t) {
		n = n.AddDate(0, 0, 1)
	}
	return n
}

// A failing run after a successful one: the Job fails as
// backoffLimit says (two pods), which is one failed run, not two; the earlier
// success stays; the attempt's exit code is reported; and a real Prometheus
// evaluating the shipped rules fires the failed-job alert with the Job's reason.
func TestFailingRunKeepsLastSuccess(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "s3-fail", true, nil)
	cj := createCronJob(t, cronJob(ns, "flaky", "*/30 * * * *", map[string]string{annEnabled: "true"},
		podSpec("sh", "-c", "echo failing; exit 3"), 1))

	ok := runCronJob(t, cj, "flaky-ok", func(j *batchv1.Job) {
		j.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "echo fine"}
	})
	okDone := waitJob(t, ok, batchv1.JobComplete)
	g := group(t, "flaky", ns, "the successful run", runInfo(ResultSucceeded, conditionReason(t, okDone, batchv1.JobComplete)))
	success := value(t, g, MetricLastSuccess, nil)

	bad := runCronJob(t, cj, "flaky-bad", nil)
	failed := waitJob(t, bad, batchv1.JobFailed)
	if failed.Status.Failed != 2 {
		t.Errorf("job failed %d pods, want 2 (backoffLimit 1)", failed.Status.Failed)
	}
	reason := conditionReason(t, failed, batchv1.JobFailed)
	if reason != "BackoffLimitExceeded" {
		t.Errorf("job failed with reason %q, want BackoffLimitExceeded", reason)
	}
	g = group(t, "flaky", ns, "the failed run and its last attempt",
		all(runInfo(ResultFailed, reason), attemptReason(ReasonFailed), is(MetricRunning, nil, 0)))
	want(t, g, MetricConsecutiveFailures, nil, 1) // one run, two pods
	want(t, g, MetricLastAttemptExitCode, nil, 3)
	want(t, g, MetricLastSuccess, nil, success)
	want(t, g, MetricLastFailureInfo, map[string]string{LabelReason: reason, LabelFailedIndexes: ""}, 1)
	if v := value(t, g, MetricLastFailure, nil); v != unix(conditionTime(failed, batchv1.JobFailed)) || v < success {
		t.Errorf("%s = %v, want the Job's Failed condition time %v, after the success %v",
			MetricLastFailure, v, unix(conditionTime(failed, batchv1.JobFailed)), success)
	}

	t.Run("Prometheus fires the failed-job alert", func(t *testing.T) {
		alertFires(t, "JobcheckJobFailed", map[string]string{LabelJob: "flaky", LabelNamespace: ns, LabelReason: reason})
	})
}

// conditionTime is when the Job's condition typ (status True) was set.
func conditionTime(j *batchv1.Job, typ batchv1.JobConditionType) *metav1.Time {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == "True" {
			return &c.LastTransitionTime
		}
	}
	return nil
}
