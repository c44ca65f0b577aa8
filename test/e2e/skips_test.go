//go:build e2e

package e2e

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// Issue 9: a job that asked for jobcheck and is not (fully) monitored says so where
// people look, and its run is never disturbed.
func TestSkipsAreVisible(t *testing.T) {
	t.Parallel()

	// A bad annotation on a CronJob skips injection for its pods: the run goes on
	// unwrapped, and a Warning Event on the Job and on the CronJob (the one `kubectl
	// describe cronjob` shows) names the annotation, where it is and what to write;
	// the webhook's counter, scraped by Prometheus, trips JobcheckJobNotMonitored.
	t.Run("bad annotation", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "skip-annotation", true, nil)
		cmd := []string{"sh", "-c", "echo ran unmonitored"}
		cj := createCronJob(t, cronJob(ns, "nightly-bad", "0 3 * * *",
			map[string]string{annEnabled: "true", "jobcheck.io/max-age": "30"}, podSpec(cmd...), 0))
		job := runCronJob(t, cj, "nightly-bad-manual", nil)
		assertNotInjected(t, jobPods(t, job, 1)[0])
		waitJob(t, job, batchv1.JobComplete)

		want := []string{`jobcheck.io/max-age="30"`, "on the CronJob", "Go duration"}
		for _, obj := range []struct{ kind, name, uid string }{
			{"Job", job.Name, string(job.UID)}, {"CronJob", cj.Name, string(cj.UID)},
		} {
			ev := waitEvent(t, ns, obj.kind, obj.name, obj.uid, eventNotMonitored)
			if ev.Type != corev1.EventTypeWarning {
				t.Errorf("Event on the %s: type %s, want Warning", obj.kind, ev.Type)
			}
			for _, w := range want {
				if !strings.Contains(ev.Message, w) {
					t.Errorf("Event on the %s: %q does not say %q", obj.kind, ev.Message, w)
				}
			}
		}
		described := kubectl(t, "describe", "cronjob", cj.Name, "-n", ns)
		_, events, _ := strings.Cut(described, "\nEvents:")
		if !strings.Contains(events, eventNotMonitored) || !strings.Contains(events, `jobcheck.io/max-age="30"`) {
			t.Errorf("kubectl describe cronjob does not show the Event:\n%s", described)
		}
		alertFires(t, "JobcheckJobNotMonitored", map[string]string{LabelNamespace: ns, LabelJob: cj.Name, LabelReason: "bad-annotation"})
	})

	// A JOBCHECK_* variable the container sets itself is kept; a bad one costs a
	// warning line in the job's log and the default, never the job.
	t.Run("bad variable in the container", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "skip-env", true, nil)
		cmd := []string{"sh", "-c", "echo did the work"}
		tmpl := podSpec(cmd...)
		tmpl.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "JOBCHECK_MAX_AGE", Value: "30"}}
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "own-max-age", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
		})
		waitJob(t, job, batchv1.JobComplete)
		pod := jobPods(t, job, 1)[0]
		if _, ok := pod.Annotations[annInjected]; !ok {
			t.Fatalf("pod %s not injected", pod.Name)
		}
		var values []string
		for _, e := range pod.Spec.Containers[0].Env {
			if e.Name == "JOBCHECK_MAX_AGE" {
				values = append(values, e.Value)
			}
		}
		if len(values) != 1 || values[0] != "30" {
			t.Errorf("JOBCHECK_MAX_AGE in the pod: %q, want the container's own \"30\" once", values)
		}
		log, err := env.ContainerLog(&pod, "main")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, "did the work") {
			t.Errorf("the command did not run; the container's log:\n%s", log)
		}
		var warning string
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "setting=JOBCHECK_MAX_AGE") {
				warning = l
			}
		}
		if !strings.Contains(warning, "level=WARN") || !strings.Contains(warning, "value=30") {
			t.Errorf("no warning line naming JOBCHECK_MAX_AGE and its value in the log:\n%s", log)
		}
		g := group(t, job.Name, ns, "the attempt", func(g *cluster.Group) bool {
			v, ok := g.Value(MetricLastAttemptInfo, map[string]string{LabelReason: ReasonSucceeded})
			return ok && v == 1
		})
		if v := value(t, g, MetricMaxAge, nil); v != DefaultMaxAge.Seconds() {
			t.Errorf("%s = %v, want the default %v", MetricMaxAge, v, DefaultMaxAge.Seconds())
		}
	})

	// A server-side dry run (kubectl apply --dry-run=server) is answered like any
	// admission but leaves no Event and no count (sideEffects: NoneOnDryRun).
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "skip-dry-run", true, nil)
		ctx := ctxFor(t)
		bad := map[string]string{annEnabled: "true", "jobcheck.io/max-age": "30"}
		owner := func(name string) *batchv1.Job {
			// Suspended: the Job controller makes no pod; the test creates them.
			return createJob(t, &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: bad},
				Spec:       batchv1.JobSpec{Suspend: ptr(true), BackoffLimit: ptr(int32(0)), Template: podSpec("true")},
			})
		}
		pod := func(j *batchv1.Job) *corev1.Pod {
			spec := podSpec("true").Spec
			spec.NodeSelector = map[string]string{"jobcheck.io/e2e-node": "nowhere"}
			return &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: j.Name + "-", Namespace: ns,
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: j.Name, UID: j.UID, Controller: ptr(true)}}},
				Spec: spec,
			}
		}
		dry, witness := owner("dry"), owner("witness")
		for range 3 {
			p, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod(dry), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Fatalf("dry-run pod creation: %v", err)
			}
			assertNotInjected(t, *p)
		}
		// Then a real pod of another Job: once its Event is written, the webhook's
		// recorder (one queue, in order) has handled whatever the dry runs sent.
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod(witness), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod: %v", err)
		}
		waitEvent(t, ns, "Job", witness.Name, string(witness.UID), eventNotMonitored)
		evs, err := objectEvents(ctx, ns, "Job", dry.Name, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Source.Component == "jobcheck-webhook" || e.ReportingController == "jobcheck-webhook" {
				t.Errorf("Event after dry runs only: %s %s: %s", e.Type, e.Reason, e.Message)
			}
		}
		m, err := env.Webhook.ReplicaMetrics(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := m.Sum(MetricWebhookUnmonitoredPods, map[string]string{LabelNamespace: ns, LabelJob: witness.Name}); n != 1 {
			t.Errorf("%s for the real pod: %v, want 1", MetricWebhookUnmonitoredPods, n)
		}
		if n, found := m.Sum(MetricWebhookUnmonitoredPods, map[string]string{LabelNamespace: ns, LabelJob: dry.Name}); found {
			t.Errorf("%s counts %v pods for the dry runs, want none", MetricWebhookUnmonitoredPods, n)
		}
	})
}
