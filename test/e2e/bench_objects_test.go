//go:build bench && !e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// benchPodTemplate is the pod of every benchmark Job: one container with a
// command (so that the webhook wraps it), env, resources.
func benchPodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": "nightly-export"}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "export", Image: "registry.example/team-a/exporter:2.4.1",
				Command: []string{"/usr/local/bin/export"}, Args: []string{"--all", "--since=24h"},
				Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "DB_HOST", Value: "postgres.team-a.svc"}},
			}},
		},
	}
}

// benchJob is a Job with labels and a pod template. An applied one (optIn) is
// as `kubectl apply` leaves it: jobcheck settings and the large
// last-applied-configuration annotation; the others look like the Jobs a
// CronJob controller creates, which carry neither.
func benchJob(namespace, name string, optIn bool) *batchv1.Job {
	j := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels:      map[string]string{"app.kubernetes.io/name": "nightly-export", "team": "a"},
			Annotations: map[string]string{}},
		Spec: batchv1.JobSpec{Suspend: ptrTo(true), BackoffLimit: ptrTo(int32(2)), Template: benchPodTemplate()},
	}
	if optIn {
		j.Annotations["jobcheck.io/enabled"] = "true"
		j.Annotations["jobcheck.io/max-age"] = "15m"
		applied, _ := json.Marshal(j)
		j.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = string(applied)
	}
	return j
}

func benchCronJob(namespace, name string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels:      map[string]string{"app.kubernetes.io/name": "nightly-export"},
			Annotations: map[string]string{"jobcheck.io/enabled": "true"}},
		Spec: batchv1.CronJobSpec{Schedule: "*/15 * * * *", Suspend: ptrTo(true),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: benchPodTemplate()}}},
	}
}

// benchPod is a pod as the Job controller makes it for job.
func benchPod(job *batchv1.Job) *corev1.Pod {
	t := benchPodTemplate()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: job.Name + "-", Namespace: job.Namespace,
			Labels: map[string]string{"batch.kubernetes.io/job-name": job.Name, "job-name": job.Name,
				"batch.kubernetes.io/controller-uid": string(job.UID), "controller-uid": string(job.UID)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}}},
		Spec: t.Spec,
	}
}

// createMany runs create(i) for i in [from, to) on workers goroutines and
// returns the first error.
func createMany(ctx context.Context, from, to, workers int, create func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	next.Store(int64(from) - 1)
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)); i < to && ctx.Err() == nil; i = int(next.Add(1)) {
				if err := create(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// createJobs makes Jobs bench-<i> for i in [from, to), spread over ten namespaces.
func createJobs(ctx context.Context, client kubernetes.Interface, from, to int) error {
	return createMany(ctx, from, to, 16, func(ctx context.Context, i int) error {
		ns := fmt.Sprintf("bench-jobs-%d", i%10)
		_, err := client.BatchV1().Jobs(ns).Create(ctx, benchJob(ns, fmt.Sprintf("bench-%d", i), i%10 == 0), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create job %s/bench-%d: %w", ns, i, err)
		}
		return nil
	})
}

func createCronJobs(ctx context.Context, client kubernetes.Interface, n int) error {
	return createMany(ctx, 0, n, 16, func(ctx context.Context, i int) error {
		ns := fmt.Sprintf("bench-jobs-%d", i%10)
		_, err := client.BatchV1().CronJobs(ns).Create(ctx, benchCronJob(ns, fmt.Sprintf("bench-%d", i)), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create cronjob %s/bench-%d: %w", ns, i, err)
		}
		return nil
	})
}

func ptrTo[T any](v T) *T { return &v }
