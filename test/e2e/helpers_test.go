//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

const (
	labelInjection = "jobcheck.io/injection"
	annEnabled     = "jobcheck.io/enabled"
	annInjected    = "jobcheck.io/injected"
	agentPath      = "/opt/jobcheck/jobcheck"
)

// limit guards every wait against a hang; no test asserts how long anything took.
const limit = 4 * time.Minute

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// namespace creates a namespace of the test's own (deleted at the end), labelled for
// injection when inject is true, and waits for its default ServiceAccount.
func namespace(t *testing.T, prefix string, inject bool, labels map[string]string) string {
	t.Helper()
	ctx := ctxFor(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: map[string]string{}}}
	for k, v := range labels {
		ns.Labels[k] = v
	}
	if inject {
		ns.Labels[labelInjection] = "enabled"
	}
	created, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	if err := cluster.Poll(ctx, "default ServiceAccount", limit, func() (bool, error) {
		_, err := env.Client.CoreV1().ServiceAccounts(created.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	return created.Name
}

// podSpec is a test job's pod: busybox running command, on the host network so that
// the agent reaches the Pushgateway on 127.0.0.1.
func podSpec(command ...string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		HostNetwork:                   true,
		TerminationGracePeriodSeconds: ptr(int64(10)),
		Containers: []corev1.Container{{
			Name: "main", Image: env.Images["jobcheck/e2e-busybox"], Command: command,
			ImagePullPolicy: corev1.PullIfNotPresent,
		}},
	}}
}

func ptr[T any](v T) *T { return &v }

// cronJob is a CronJob annotated on the CronJob object only.
func cronJob(ns, name, schedule string, annotations map[string]string, tmpl corev1.PodTemplateSpec, backoff int32) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule,
			Suspend:  ptr(true), // runs are started by the test (jobFrom), not by the clock
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit: ptr(backoff), Template: tmpl,
			}},
		},
	}
}

func createCronJob(t *testing.T, cj *batchv1.CronJob) *batchv1.CronJob {
	t.Helper()
	created, err := env.Client.BatchV1().CronJobs(cj.Namespace).Create(ctxFor(t), cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create CronJob %s: %v", cj.Name, err)
	}
	return created
}

// runCronJob creates a Job from the CronJob's jobTemplate, owned by the CronJob, as
// `kubectl create job --from=cronjob/NAME` does; edit may change the Job first.
func runCronJob(t *testing.T, cj *batchv1.CronJob, name string, edit func(*batchv1.Job)) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cj.Namespace,
			Annotations: map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob",
				Name: cj.Name, UID: cj.UID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	if edit != nil {
		edit(job)
	}
	return createJob(t, job)
}

func createJob(t *testing.T, job *batchv1.Job) *batchv1.Job {
	t.Helper()
	created, err := env.Client.BatchV1().Jobs(job.Namespace).Create(ctxFor(t), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Job %s: %v", job.Name, err)
	}
	return created
}

// waitJob waits for the Job's Complete or Failed condition and returns the Job.
func waitJob(t *testing.T, job *batchv1.Job, want batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	ctx := ctxFor(t)
	var got *batchv1.Job
	err := cluster.Poll(ctx, fmt.Sprintf("Job %s %s", job.Name, want), limit, func() (bool, error) {
		j, err := env.Client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = j
		for _, c := range j.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			if c.Type == want {
				return true, nil
			}
			if c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed {
				return false, fmt.Errorf("job ended %s (%s: %s), want %s", c.Type, c.Reason, c.Message, want)
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, describeJob(job))
	}
	return got
}

// jobPods waits until the Job has at least n pods and returns them.
func jobPods(t *testing.T, job *batchv1.Job, n int) []corev1.Pod {
	t.Helper()
	ctx := ctxFor(t)
	var pods []corev1.Pod
	if err := cluster.Poll(ctx, fmt.Sprintf("%d pods of Job %s", n, job.Name), limit, func() (bool, error) {
		l, err := env.Client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job.Name})
		if err != nil {
			return false, nil
		}
		pods = l.Items
		return len(pods) >= n, nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, describeJob(job))
	}
	return pods
}

// describeJob tells what the cluster says about a Job that did not do what was
// expected: its conditions, its pods' states and the namespace's warning events.
func describeJob(job *batchv1.Job) string {
	ctx := context.Background()
	var b strings.Builder
	if j, err := env.Client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{}); err == nil {
		fmt.Fprintf(&b, "job %s: active=%d succeeded=%d failed=%d conditions=%+v\n", j.Name, j.Status.Active, j.Status.Succeeded, j.Status.Failed, j.Status.Conditions)
	}
	if l, err := env.Client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range l.Items {
			fmt.Fprintf(&b, "pod %s: phase=%s", p.Name, p.Status.Phase)
			for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
				fmt.Fprintf(&b, " [%s waiting=%+v running=%v terminated=%+v]", s.Name, s.State.Waiting, s.State.Running != nil, s.State.Terminated)
			}
			b.WriteString("\n")
		}
	}
	if l, err := env.Client.CoreV1().Events(job.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range l.Items {
			if e.Type == corev1.EventTypeWarning {
				fmt.Fprintf(&b, "event %s/%s %s: %s\n", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
			}
		}
	}
	return b.String()
}

// assertInjected checks what jobcheck adds to a pod (docs/internals.md): marker,
// volume, init container, wrapped command, probe, preStop hook and environment.
func assertInjected(t *testing.T, pod corev1.Pod, jobName string, original []string) {
	t.Helper()
	if _, ok := pod.Annotations[annInjected]; !ok {
		t.Fatalf("pod %s: no %s annotation: not injected (annotations %v)", pod.Name, annInjected, pod.Annotations)
	}
	if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "jobcheck" && v.EmptyDir != nil }) {
		t.Errorf("pod %s: no emptyDir volume jobcheck: %+v", pod.Name, pod.Spec.Volumes)
	}
	if len(pod.Spec.InitContainers) == 0 || pod.Spec.InitContainers[0].Name != "jobcheck-install" {
		t.Fatalf("pod %s: first init container is not jobcheck-install: %+v", pod.Name, pod.Spec.InitContainers)
	}
	init := pod.Spec.InitContainers[0]
	if init.Image != env.Images["jobcheck/agent"] {
		t.Errorf("init container image %q, want the agent image %q", init.Image, env.Images["jobcheck/agent"])
	}
	if want := []string{"/jobcheck", "install", agentPath}; !slices.Equal(init.Command, want) {
		t.Errorf("init container command %q, want %q", init.Command, want)
	}
	c := pod.Spec.Containers[0]
	if want := append([]string{agentPath, "run", "--"}, original...); !slices.Equal(c.Command, want) {
		t.Errorf("container command %q, want %q", c.Command, want)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.Exec == nil || !slices.Equal(c.LivenessProbe.Exec.Command, []string{agentPath, "probe"}) {
		t.Errorf("liveness probe %+v, want exec %s probe", c.LivenessProbe, agentPath)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
		!slices.Equal(c.Lifecycle.PreStop.Exec.Command, []string{agentPath, "prestop"}) {
		t.Errorf("preStop %+v, want exec %s prestop", c.Lifecycle, agentPath)
	}
	envs := map[string]string{}
	for _, e := range c.Env {
		envs[e.Name] = e.Value
	}
	if envs["JOBCHECK_JOB"] != jobName {
		t.Errorf("JOBCHECK_JOB %q, want %q", envs["JOBCHECK_JOB"], jobName)
	}
	if envs["JOBCHECK_PUSHGATEWAY"] != env.Pushgateway.URL {
		t.Errorf("JOBCHECK_PUSHGATEWAY %q, want %q", envs["JOBCHECK_PUSHGATEWAY"], env.Pushgateway.URL)
	}
	if envs["JOBCHECK_SENTINEL"] != "/opt/jobcheck/"+c.Name+".heartbeat" {
		t.Errorf("JOBCHECK_SENTINEL %q", envs["JOBCHECK_SENTINEL"])
	}
}

func assertNotInjected(t *testing.T, pod corev1.Pod) {
	t.Helper()
	if v, ok := pod.Annotations[annInjected]; ok {
		t.Errorf("pod %s/%s: injected (%s=%q), want it left alone", pod.Namespace, pod.Name, annInjected, v)
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == "jobcheck-install" {
			t.Errorf("pod %s/%s has the jobcheck-install init container", pod.Namespace, pod.Name)
		}
	}
	if len(pod.Spec.Containers) > 0 && len(pod.Spec.Containers[0].Command) > 0 && pod.Spec.Containers[0].Command[0] == agentPath {
		t.Errorf("pod %s/%s: command wrapped: %q", pod.Namespace, pod.Name, pod.Spec.Containers[0].Command)
	}
}

// group waits until the Pushgateway holds the group {job, namespace} and ok accepts it.
func group(t *testing.T, job, ns string, what string, ok func(*cluster.Group) bool) *cluster.Group {
	t.Helper()
	return groupBy(t, map[string]string{"job": job, "namespace": ns}, what, ok)
}

// groupBy waits until the Pushgateway holds the group with exactly this key and ok accepts it.
func groupBy(t *testing.T, key map[string]string, what string, ok func(*cluster.Group) bool) *cluster.Group {
	t.Helper()
	ctx := ctxFor(t)
	var g *cluster.Group
	if err := cluster.Poll(ctx, "Pushgateway group "+fmt.Sprint(key)+": "+what, limit, func() (bool, error) {
		var err error
		g, err = env.Pushgateway.Group(ctx, key)
		if err != nil {
			return false, err
		}
		return g != nil && ok(g), nil
	}); err != nil {
		all, _ := env.Pushgateway.Groups(ctx)
		t.Fatalf("%v\nlast seen: %+v\nall groups: %+v", err, g, all)
	}
	return g
}

// value returns a metric of the group, failing the test when it is missing.
func value(t *testing.T, g *cluster.Group, metric string, labels map[string]string) float64 {
	t.Helper()
	v, ok := g.Value(metric, labels)
	if !ok {
		t.Fatalf("group %v has no %s%v; it holds %v", g.Labels, metric, labels, g.Metrics)
	}
	return v
}

func hasReason(reason string) func(*cluster.Group) bool {
	return func(g *cluster.Group) bool {
		v, ok := g.Value("jobcheck_last_run_info", map[string]string{"reason": reason})
		return ok && v == 1
	}
}
