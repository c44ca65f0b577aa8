//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// The truthful-outcomes scenarios (docs/runs.md, "What the cluster tests should
// check"): what Kubernetes did to a run is what the Pushgateway and the alerts say.
// Each ends on the final Pushgateway groups, and on the alert state of the real
// Prometheus where a user is paged (or must not be).

// optIn is the annotation that opts a Job in (its namespace is labelled).
var optIn = map[string]string{annEnabled: "true"}

// An Indexed Job with a failed index is one failed run whose failure names the
// index; the index the Job controller stopped is terminated, not failed.
func TestIndexedJobFailedIndex(t *testing.T) {
	t.Parallel()
	t.Run("backoffLimit 0", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "r1-indexed", true, nil)
		g := newGate(t)
		// Index 0 succeeds at once, index 2 runs until the Job stops it, index 1
		// fails when the test opens its gate: once index 0 completed and index 2 runs.
		tmpl := podSpec("sh", "-c", `case "$JOB_COMPLETION_INDEX" in 0) echo done;; 1) `+gateScript("fail")+`;; *) exec sleep 3600;; esac`)
		g.mount(&tmpl.Spec)
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "shards", Namespace: ns, Annotations: optIn},
			Spec: batchv1.JobSpec{CompletionMode: ptr(batchv1.IndexedCompletion), Completions: ptr(int32(3)),
				Parallelism: ptr(int32(3)), BackoffLimit: ptr(int32(0)), Template: tmpl},
		})
		waitJobStatus(t, job, "index 0 completed", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "0" })
		runningPodWhere(t, job, "main", " (index 2)", func(p corev1.Pod) bool { return p.Annotations[AnnotationCompletionIndex] == "2" })
		g.open(t, "fail", 1)

		failed := waitJob(t, job, batchv1.JobFailed)
		reason := conditionReason(t, failed, batchv1.JobFailed)
		if reason != "BackoffLimitExceeded" {
			t.Errorf("Job failed with %s, want BackoffLimitExceeded", reason)
		}
		run := group(t, "shards", ns, "the failed run", all(runInfo(ResultFailed, reason), is(MetricRunning, nil, 0)))
		want(t, run, MetricLastFailureInfo, map[string]string{LabelReason: reason, LabelFailedIndexes: "1"}, 1)
		want(t, run, MetricConsecutiveFailures, nil, 1)
		want(t, run, MetricLastFailure, nil, unix(conditionTime(failed, batchv1.JobFailed)))

		a0 := groupBy(t, attemptKey("shards", ns, LabelIndex, "0"), "index 0's attempt", attemptReason(ReasonSucceeded))
		want(t, a0, MetricLastAttemptExitCode, nil, 0)
		a1 := groupBy(t, attemptKey("shards", ns, LabelIndex, "1"), "index 1's attempt",
			all(attemptReason(ReasonFailed), has(MetricLastAttemptExitCode)))
		want(t, a1, MetricLastAttemptExitCode, nil, 1)
		// Stopped by the Job controller: the agent reports the SIGTERM (143), or the
		// run watcher a wrapper killed after the grace period (137). Never failed.
		a2 := groupBy(t, attemptKey("shards", ns, LabelIndex, "2"), "index 2's attempt",
			all(attemptReason(ReasonTerminated), has(MetricLastAttemptExitCode)))
		if code := value(t, a2, MetricLastAttemptExitCode, nil); code != 143 && code != 137 {
			t.Errorf("index 2: exit code %v, want 143 (SIGTERM) or 137 (killed after the grace period)", code)
		}
		alertFires(t, "JobcheckJobFailed", map[string]string{LabelJob: "shards", LabelNamespace: ns,
			LabelReason: reason, LabelFailedIndexes: "1"})
	})
	t.Run("backoffLimitPerIndex 0", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "r1-per-index", true, nil)
		tmpl := podSpec("sh", "-c", `[ "$JOB_COMPLETION_INDEX" != 1 ]`)
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "per-index", Namespace: ns, Annotations: optIn},
			Spec: batchv1.JobSpec{CompletionMode: ptr(batchv1.IndexedCompletion), Completions: ptr(int32(3)),
				Parallelism: ptr(int32(3)), BackoffLimitPerIndex: ptr(int32(0)), Template: tmpl},
		})
		failed := waitJob(t, job, batchv1.JobFailed)
		reason := conditionReason(t, failed, batchv1.JobFailed)
		if reason != "FailedIndexes" || failed.Status.FailedIndexes == nil || *failed.Status.FailedIndexes != "1" {
			t.Errorf("Job failed with %s, failedIndexes %v; want FailedIndexes, 1", reason, failed.Status.FailedIndexes)
		}
		run := group(t, "per-index", ns, "the failed run", runInfo(ResultFailed, reason))
		want(t, run, MetricLastFailureInfo, map[string]string{LabelReason: reason, LabelFailedIndexes: "1"}, 1)
		want(t, run, MetricConsecutiveFailures, nil, 1)
		alertFires(t, "JobcheckJobFailed", map[string]string{LabelJob: "per-index", LabelNamespace: ns,
			LabelReason: reason, LabelFailedIndexes: "1"})
	})
}

// Pods that fail and are retried within backoffLimit are not a failed run: no
// failure is reported and nobody is paged. Runs whose retries are exhausted are
// failed runs, counted as runs (three runs of two failed pods each: 3, not 6).
func TestRetriesAreNotFailures(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "r2-retries", true, nil)
	g := newGate(t)
	// Every attempt leaves a file; the first two attempts of the run fail.
	tmpl := podSpec("sh", "-c", `touch "/gate/attempt-$POD"; set -- /gate/attempt-*; `+
		`if [ $# -le 2 ]; then echo "attempt $#: failing"; exit 1; fi; echo "attempt $#: fine"`)
	tmpl.Spec.Containers[0].Env = []corev1.EnvVar{fieldEnv("POD", "metadata.name")}
	g.mount(&tmpl.Spec)
	retried := createJob(t, &batchv1.Job{
		// generateName: the runs of one workload, "retry" (contract.WorkloadName).
		ObjectMeta: metav1.ObjectMeta{GenerateName: "retry-", Namespace: ns, Annotations: optIn},
		Spec: batchv1.JobSpec{Parallelism: ptr(int32(2)), Completions: ptr(int32(2)), BackoffLimit: ptr(int32(4)),
			Template: tmpl},
	})
	done := waitJob(t, retried, batchv1.JobComplete)
	if done.Status.Failed < 1 {
		t.Fatalf("test setup: no pod failed (failed=%d): nothing was retried", done.Status.Failed)
	}
	run := group(t, "retry", ns, "the run that succeeded after retries",
		all(runInfo(ResultSucceeded, conditionReason(t, done, batchv1.JobComplete)), attemptReason(ReasonSucceeded)))
	want(t, run, MetricConsecutiveFailures, nil, 0)
	absent(t, run, MetricLastFailure)
	absent(t, run, MetricLastFailureInfo)
	t.Logf("%d pods failed and were retried: no failed run", done.Status.Failed)
	scraped(t, fmt.Sprintf(`%s{job="retry",namespace=%q,result="succeeded"}`, MetricLastRunInfo, ns))
	alertQuiet(t, "JobcheckJobFailed", runKey("retry", ns))

	// Retries exhausted, three times.
	exhaust := podSpec("sh", "-c", "echo always failing; exit 2")
	var runs []*batchv1.Job
	for range 3 {
		runs = append(runs, createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "retry-", Namespace: ns, Annotations: optIn},
			Spec: batchv1.JobSpec{Parallelism: ptr(int32(2)), Completions: ptr(int32(2)), BackoffLimit: ptr(int32(1)),
				Template: exhaust},
		}))
	}
	pods := int32(0)
	for _, j := range runs {
		pods += waitJob(t, j, batchv1.JobFailed).Status.Failed
	}
	run = group(t, "retry", ns, "three failed runs", all(runInfo(ResultFailed, "BackoffLimitExceeded"), is(MetricRunning, nil, 0),
		func(g *cluster.Group) bool { n, ok := g.Value(MetricConsecutiveFailures, nil); return ok && n >= 3 }))
	want(t, run, MetricConsecutiveFailures, nil, 3)
	t.Logf("3 failed runs, %d failed pods", pods)
	alertFires(t, "JobcheckJobFailed", runKey("retry", ns))
	alertFires(t, "JobcheckJobNotSucceededRecently", runKey("retry", ns))
}

// Two overlapping runs of one CronJob (concurrencyPolicy Allow, started by the
// CronJob controller on its schedule): the workload runs while either does, and the
// first run's failure is not hidden by the success of the second, which started
// before the failure. The next-run deadline follows the schedule, and suspension
// is reported.
func TestOverlappingCronJobRuns(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "r3-overlap", true, nil)
	g := newGate(t)
	tmpl := podSpec("sh", "-c", gateScript("$JOB_NAME"))
	tmpl.Spec.Containers[0].Env = []corev1.EnvVar{jobNameEnv}
	g.mount(&tmpl.Spec)
	cj := cronJob(ns, "overlap", "* * * * *", optIn, tmpl, 0)
	cj.Spec.Suspend = ptr(false)
	cj.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	cj = createCronJob(t, cj)

	// The CronJob controller starts a run every minute; wait for two.
	first, second := scheduledRuns(t, cj)
	live, err := env.Client.BatchV1().CronJobs(ns).Get(ctxFor(t), cj.Name, metav1.GetOptions{})
	if err != nil || live.Status.LastScheduleTime == nil {
		t.Fatalf("CronJob %s: no lastScheduleTime after two runs (%v)", cj.Name, err)
	}
	last := live.Status.LastScheduleTime.Time
	deadline := float64(last.Truncate(time.Minute).Add(time.Minute).Add(DefaultGrace).Unix())
	running := group(t, "overlap", ns, "both runs in progress", all(is(MetricRunning, nil, 2), is(MetricSuspended, nil, 0)))
	if got := value(t, running, MetricNextRunDeadline, nil); got != deadline {
		t.Errorf("%s = %s, want %s: the minute after lastScheduleTime %s, plus %v grace", MetricNextRunDeadline,
			time.Unix(int64(got), 0).UTC(), time.Unix(int64(deadline), 0).UTC(), last.UTC(), DefaultGrace)
	}

	suspend(t, ns, cj.Name)
	group(t, "overlap", ns, "the CronJob suspended", is(MetricSuspended, nil, 1))
	// A run the controller started before the suspension took is no part of the
	// scenario: deleting it is a stopped run, which changes no success, failure or count.
	stopOthers(t, ns, first, second)

	g.open(t, first.Name, 1)
	failed := waitJob(t, first, batchv1.JobFailed)
	reason := conditionReason(t, failed, batchv1.JobFailed)
	run := group(t, "overlap", ns, "the first run failed, the second runs",
		all(runInfo(ResultFailed, reason), is(MetricRunning, nil, 1)))
	want(t, run, MetricConsecutiveFailures, nil, 1)

	g.open(t, second.Name, 0)
	done := waitJob(t, second, batchv1.JobComplete)
	run = group(t, "overlap", ns, "both runs ended",
		all(runInfo(ResultSucceeded, conditionReason(t, done, batchv1.JobComplete)), is(MetricRunning, nil, 0)))
	failedAt, successStart := unix(conditionTime(failed, batchv1.JobFailed)), unix(done.Status.StartTime)
	if failedAt <= successStart {
		t.Fatalf("test setup: the second run started at %v, not before the first failed (%v)", successStart, failedAt)
	}
	// The failure ended after the successful run started: it stays reported.
	want(t, run, MetricLastFailure, nil, failedAt)
	want(t, run, MetricLastSuccessStart, nil, successStart)
	want(t, run, MetricLastSuccess, nil, unix(done.Status.CompletionTime))
	want(t, run, MetricConsecutiveFailures, nil, 0)
	alertFires(t, "JobcheckJobFailed", map[string]string{LabelJob: "overlap", LabelNamespace: ns, LabelReason: reason})
}

// scheduledRuns waits for the first two Jobs the CronJob controller starts.
func scheduledRuns(t *testing.T, cj *batchv1.CronJob) (first, second *batchv1.Job) {
	t.Helper()
	ctx := ctxFor(t)
	var jobs []batchv1.Job
	if err := cluster.Poll(ctx, "two scheduled runs of CronJob "+cj.Name, limit, func() (bool, error) {
		l, err := env.Client.BatchV1().Jobs(cj.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		jobs = jobs[:0]
		for _, j := range l.Items {
			if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == cj.UID {
				jobs = append(jobs, j)
			}
		}
		return len(jobs) >= 2, nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(jobs, func(a, b batchv1.Job) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return &jobs[0], &jobs[1]
}

func suspend(t *testing.T, ns, name string) {
	t.Helper()
	if _, err := env.Client.BatchV1().CronJobs(ns).Patch(ctxFor(t), name, types.MergePatchType,
		[]byte(`{"spec":{"suspend":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("suspend CronJob %s: %v", name, err)
	}
}

// stopOthers deletes the namespace's Jobs other than keep.
func stopOthers(t *testing.T, ns string, keep ...*batchv1.Job) {
	t.Helper()
	l, err := env.Client.BatchV1().Jobs(ns).List(ctxFor(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range l.Items {
		if slices.ContainsFunc(keep, func(k *batchv1.Job) bool { return k.UID == j.UID }) {
			continue
		}
		t.Logf("stopping run %s, started before the suspension", j.Name)
		if err := env.Client.BatchV1().Jobs(ns).Delete(ctxFor(t), j.Name,
			metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
			t.Fatal(err)
		}
	}
}

// Attempts their agent cannot report: a wrapper killed by SIGKILL (standing in
// for a cgroup v2 group OOM kill, which this machine's cgroup v1 cannot produce),
// and a container whose image cannot be pulled. The run watcher reports each, with
// the kubelet's reason, once.
func TestUnreportedAttempts(t *testing.T) {
	t.Parallel()
	t.Run("SIGKILLed wrapper", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "r4-killed", true, nil)
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "killed", Namespace: ns, Annotations: optIn},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec("sleep", "3600")},
		})
		pod := runningPod(t, job, "main")
		pid, err := env.ContainerPID(ctxFor(t), containerStatus(pod, "main").ContainerID)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 the wrapper (host pid %d): %v", pid, err)
		}
		ended := terminatedContainer(t, job, pod.Name, "main")
		if ended.ExitCode != 137 {
			t.Fatalf("container main ended with %d, want 137 (SIGKILL)", ended.ExitCode)
		}
		seen := time.Now()
		g := groupIn(t, env.Pushgateway, runKey("killed", ns), "the killed attempt", watcherLimit, attemptReason(ReasonSignaled))
		t.Logf("reported within %v of the test seeing the container's end in the API", time.Since(seen).Round(100*time.Millisecond))
		want(t, g, MetricLastAttemptInfo, map[string]string{LabelReason: ReasonSignaled, LabelDetail: ended.Reason}, 1)
		want(t, g, MetricLastAttemptExitCode, nil, 137)
		want(t, g, MetricLastAttemptEnd, nil, unix(&ended.FinishedAt))
		want(t, g, MetricLastAttemptDuration, nil, unix(&ended.FinishedAt)-unix(&ended.StartedAt))
		failed := waitJob(t, job, batchv1.JobFailed)
		group(t, "killed", ns, "the failed run", runInfo(ResultFailed, conditionReason(t, failed, batchv1.JobFailed)))
	})
	t.Run("image that cannot be pulled", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "r4-unpullable", true, nil)
		tmpl := podSpec("sleep", "3600")
		missing := tmpl.Spec.Containers[0]
		missing.Name = "fetch"
		missing.Image = strings.Replace(missing.Image, "jobcheck/e2e-busybox", "jobcheck/e2e-does-not-exist", 1)
		missing.Command = []string{"sh", "-c", "echo never runs"}
		tmpl.Spec.Containers = append(tmpl.Spec.Containers, missing)
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "unpullable", Namespace: ns, Annotations: optIn},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
		})
		pod := jobPods(t, job, 1)[0]
		key := attemptKey("unpullable", ns, LabelContainer, "fetch")
		g := groupIn(t, env.Pushgateway, key, "the attempt that never started", watcherLimit, attemptReason(ReasonNotStarted))
		t.Logf("reported within %v of the pod's creation", time.Since(pod.CreationTimestamp.Time).Round(100*time.Millisecond))
		detail := ""
		for _, s := range g.Metrics[MetricLastAttemptInfo] {
			detail = s.Labels[LabelDetail]
		}
		if detail != "ErrImagePull" && detail != "ImagePullBackOff" {
			t.Errorf("detail %q, want the kubelet's ErrImagePull (or ImagePullBackOff, when that was the first reason seen)", detail)
		}
		want(t, g, MetricLastAttemptExitCode, nil, -1)
		want(t, g, MetricLastAttemptDuration, nil, 0)
		pushed := value(t, g, "push_time_seconds", nil)

		// However long the kubelet backs off, the attempt is one: pushed once.
		pulls := pullFailures(t, ns, pod.Name, 2)
		again, err := env.Pushgateway.Group(ctxFor(t), key)
		if err != nil {
			t.Fatal(err)
		}
		want(t, again, "push_time_seconds", nil, pushed)
		want(t, again, MetricLastAttemptInfo, map[string]string{LabelReason: ReasonNotStarted, LabelDetail: detail}, 1)
		t.Logf("the kubelet failed to pull %d times; the attempt was pushed once", pulls)
		group(t, "unpullable", ns, "the run still in progress", is(MetricRunning, nil, 1))
	})
}

// terminatedContainer waits until the pod's container has terminated and returns its state.
func terminatedContainer(t *testing.T, job *batchv1.Job, pod, container string) *corev1.ContainerStateTerminated {
	t.Helper()
	ctx := ctxFor(t)
	var st *corev1.ContainerStateTerminated
	if err := cluster.Poll(ctx, "container "+container+" of pod "+pod+" to end", limit, func() (bool, error) {
		p, err := env.Client.CoreV1().Pods(job.Namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if s := containerStatus(*p, container); s != nil {
			st = s.State.Terminated
		}
		return st != nil, nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, describeJob(job))
	}
	return st
}

// pullFailures waits until the kubelet has failed to pull an image of the pod at
// least n times (its Failed events, counted) and returns how often it did.
func pullFailures(t *testing.T, ns, pod string, n int32) int32 {
	t.Helper()
	ctx := ctxFor(t)
	var count int32
	if err := cluster.Poll(ctx, fmt.Sprintf("%d failed pulls for pod %s", n, pod), limit, func() (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err != nil {
			return false, nil
		}
		count = 0
		for _, e := range evs.Items {
			if e.Reason == "Failed" && strings.Contains(e.Message, "pull") {
				count += max(e.Count, 1)
			}
		}
		return count >= n, nil
	}); err != nil {
		t.Fatal(err)
	}
	return count
}

// The Job controller ending a run at its activeDeadlineSeconds is a failed run
// with reason DeadlineExceeded; the attempt it stopped is terminated (the agent saw
// the SIGTERM), not failed.
func TestDeadlineExceeded(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "r6-deadline", true, nil)
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: ns, Annotations: optIn},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec("sleep", "3600")},
	})
	runningPod(t, job, "main")
	// The deadline is set once the attempt runs, so that it is the agent, not a
	// slow image pull, that meets it: the deadline passed already, the Job
	// controller ends the run at once.
	if _, err := env.Client.BatchV1().Jobs(ns).Patch(ctxFor(t), job.Name, types.MergePatchType,
		[]byte(`{"spec":{"activeDeadlineSeconds":1}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("set activeDeadlineSeconds: %v", err)
	}
	failed := waitJob(t, job, batchv1.JobFailed)
	reason := conditionReason(t, failed, batchv1.JobFailed)
	if reason != "DeadlineExceeded" {
		t.Errorf("Job failed with %s, want DeadlineExceeded", reason)
	}
	g := group(t, "slow", ns, "the failed run and the stopped attempt",
		all(runInfo(ResultFailed, reason), attemptReason(ReasonTerminated), has(MetricLastAttemptExitCode), is(MetricRunning, nil, 0)))
	want(t, g, MetricLastFailureInfo, map[string]string{LabelReason: reason, LabelFailedIndexes: ""}, 1)
	want(t, g, MetricLastAttemptExitCode, nil, 143)
	alertFires(t, "JobcheckJobFailed", map[string]string{LabelJob: "slow", LabelNamespace: ns, LabelReason: reason})
}

// A pod deleted by hand while it runs, in a Job whose backoffLimit allows a
// retry that succeeds: the attempt is terminated, the run succeeded, nobody is paged.
func TestPodDeletedMidRunIsNoFailure(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "r6-deleted", true, nil)
	g := newGate(t)
	tmpl := podSpec("sh", "-c", gateScript("go"))
	g.mount(&tmpl.Spec)
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "resilient", Namespace: ns, Annotations: optIn},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(1)), Template: tmpl},
	})
	pod := runningPod(t, job, "main")
	if err := env.Client.CoreV1().Pods(ns).Delete(ctxFor(t), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	// The run goes on with the replacement.
	stopped := group(t, "resilient", ns, "the deleted pod's attempt, the run going on",
		all(attemptReason(ReasonTerminated), has(MetricLastAttemptExitCode), is(MetricRunning, nil, 1)))
	want(t, stopped, MetricLastAttemptExitCode, nil, 143)

	g.open(t, "go", 0)
	done := waitJob(t, job, batchv1.JobComplete)
	if done.Status.Failed != 1 {
		t.Errorf("Job counted %d failed pods, want 1 (the deleted one)", done.Status.Failed)
	}
	run := group(t, "resilient", ns, "the run succeeded",
		all(runInfo(ResultSucceeded, conditionReason(t, done, batchv1.JobComplete)), attemptReason(ReasonSucceeded)))
	want(t, run, MetricConsecutiveFailures, nil, 0)
	absent(t, run, MetricLastFailure)
	scraped(t, fmt.Sprintf(`%s{job="resilient",namespace=%q,result="succeeded"}`, MetricLastRunInfo, ns))
	alertQuiet(t, "JobcheckJobFailed", runKey("resilient", ns))
}

// Two webhook replicas: one reports; killing it (kill -9, no Lease released)
// in the middle of a run loses no outcome and counts none twice: the other
// replica takes the Lease, reads the workload back and counts only the run that
// ended after the last one counted. The webhook is left as it was found.
// It changes the shared webhook, so it does not run in parallel.
func TestRunWatcherFailover(t *testing.T) {
	ctx := ctxFor(t)
	ns := namespace(t, "r7-failover", true, nil)
	if err := env.Webhook.StartSecond(ctx); err != nil {
		t.Fatalf("start the second replica: %v", err)
	}
	secondUp, firstDown := true, false
	t.Cleanup(func() {
		if firstDown {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.Webhook.Start(ctx); err != nil {
				t.Errorf("restart the first replica: %v", err)
			}
		}
		if secondUp {
			if err := env.Webhook.StopSecond(); err != nil {
				t.Errorf("stop the second replica: %v", err)
			}
		}
	})
	leader := waitLeader(t, 1, 2)
	base := [3]float64{1: failedRuns(t, 1), 2: failedRuns(t, 2)}
	t.Logf("replica %d reports runs", leader)

	g := newGate(t)
	tmpl := podSpec("sh", "-c", gateScript("$JOB_NAME"))
	tmpl.Spec.Containers[0].Env = []corev1.EnvVar{jobNameEnv}
	g.mount(&tmpl.Spec)
	newRun := func() *batchv1.Job {
		return createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "failover-", Namespace: ns, Annotations: optIn},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
		})
	}

	first := newRun()
	g.open(t, first.Name, 1)
	waitJob(t, first, batchv1.JobFailed)
	group(t, "failover", ns, "the first failed run", all(is(MetricConsecutiveFailures, nil, 1), is(MetricRunning, nil, 0)))
	if d := failedRuns(t, leader) - base[leader]; d != 1 {
		t.Errorf("replica %d counted %v failed runs, want 1", leader, d)
	}

	second := newRun()
	runningPod(t, second, "main")
	group(t, "failover", ns, "the second run in progress", is(MetricRunning, nil, 1))
	if err := env.Webhook.Kill(leader); err != nil {
		t.Fatal(err)
	}
	if leader == 1 {
		firstDown = true
	} else {
		secondUp = false
	}
	other := 3 - leader
	g.open(t, second.Name, 1) // the run fails while no replica reports
	failed := waitJob(t, second, batchv1.JobFailed)
	waitLeader(t, other)
	run := groupIn(t, env.Pushgateway, runKey("failover", ns), "the second failed run, reported by the new leader", watcherLimit,
		is(MetricLastFailure, nil, unix(conditionTime(failed, batchv1.JobFailed))))
	want(t, run, MetricConsecutiveFailures, nil, 2) // not 1 (lost), not 3 (the first counted again)
	want(t, run, MetricRunning, nil, 0)
	if d := failedRuns(t, other) - base[other]; d != 1 {
		t.Errorf("replica %d, leading after the kill, counted %v failed runs, want 1 (only the second)", other, d)
	}

	// Back as it was: the first replica running (the API server calls it), and
	// the second gone, having handed the Lease back.
	if firstDown {
		if err := env.Webhook.Start(ctx); err != nil {
			t.Fatalf("restart the first replica: %v", err)
		}
		firstDown = false
	}
	if secondUp {
		if err := env.Webhook.StopSecond(); err != nil {
			t.Fatalf("stop the second replica: %v", err)
		}
		secondUp = false
	}
	waitLeader(t, 1)
}

// waitLeader waits until exactly one of the replicas reports runs
// (jobcheck_runwatch_leader 1 on its /metrics) and returns it.
func waitLeader(t *testing.T, replicas ...int) int {
	t.Helper()
	ctx := ctxFor(t)
	leader := 0
	var seen []string
	if err := cluster.Poll(ctx, fmt.Sprintf("one of replicas %v to report runs", replicas), watcherLimit, func() (bool, error) {
		leader, seen = 0, seen[:0]
		n := 0
		for _, r := range replicas {
			m, err := env.Webhook.ReplicaMetrics(ctx, r)
			if err != nil {
				seen = append(seen, fmt.Sprintf("replica %d: %v", r, err))
				continue
			}
			v, _ := m.Sum(metricRunwatchLeader, nil)
			seen = append(seen, fmt.Sprintf("replica %d: leader %v", r, v))
			if v == 1 {
				leader, n = r, n+1
			}
		}
		return n == 1, nil
	}); err != nil {
		t.Fatalf("%v: %v", err, seen)
	}
	return leader
}

// failedRuns is the failed runs a replica reported.
func failedRuns(t *testing.T, replica int) float64 {
	t.Helper()
	m, err := env.Webhook.ReplicaMetrics(ctxFor(t), replica)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := m.Sum(metricRunwatchRuns, map[string]string{LabelResult: ResultFailed})
	return n
}
