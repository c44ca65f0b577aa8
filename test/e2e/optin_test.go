//go:build e2e

package e2e

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Opt-in takes both a labelled namespace and an annotated workload, and
// only pods owned by a Job are ever touched.
func TestOptIn(t *testing.T) {
	t.Parallel()
	on := namespace(t, "s1-optin-on", true, nil)
	off := namespace(t, "s1-optin-off", false, nil)
	cmd := []string{"sh", "-c", "echo hello"}
	annotated := map[string]string{annEnabled: "true"}

	t.Run("annotated CronJob in a labelled namespace is injected", func(t *testing.T) {
		cj := createCronJob(t, cronJob(on, "report", "0 3 * * *", annotated, podSpec(cmd...), 0))
		job := runCronJob(t, cj, "report-manual", nil)
		pod := jobPods(t, job, 1)[0]
		assertInjected(t, pod, "report", cmd)
		if a := job.Spec.Template.Annotations[annEnabled]; a != "" {
			t.Fatalf("test setup: pod template annotated (%q); the annotation must be on the CronJob only", a)
		}
	})
	t.Run("annotated CronJob in an unlabelled namespace is not", func(t *testing.T) {
		cj := createCronJob(t, cronJob(off, "report", "0 3 * * *", annotated, podSpec(cmd...), 0))
		job := runCronJob(t, cj, "report-manual", nil)
		assertNotInjected(t, jobPods(t, job, 1)[0])
	})
	t.Run("unannotated Job in a labelled namespace is not", func(t *testing.T) {
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: on},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec(cmd...)},
		})
		assertNotInjected(t, jobPods(t, job, 1)[0])
	})
	t.Run("bare annotated Pod in a labelled namespace is not", func(t *testing.T) {
		tmpl := podSpec(cmd...)
		pod, err := env.Client.CoreV1().Pods(on).Create(ctxFor(t), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "bare", Annotations: annotated},
			Spec:       tmpl.Spec,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create bare pod: %v", err)
		}
		assertNotInjected(t, *pod)
	})
}
