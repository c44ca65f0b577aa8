//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// The annotations and labels a user writes (docs: README, "Annotations").
const (
	labelInjection = "jobcheck.io/injection"
	annEnabled     = "jobcheck.io/enabled"
	annMaxAge      = "jobcheck.io/max-age"
	annPushgateway = "jobcheck.io/pushgateway"
	annInjected    = "jobcheck.io/injected"
)

// limit guards every wait against a hang; no test asserts how long anything took.
const limit = 4 * time.Minute

// watcherLimit guards the waits for what the run watcher reports after an
// event it sees. docs/runs.md bounds it at one watch event and one push (under
// 2.5s) from the moment the object changed; the limit adds room for the
// kubelet's own status update on a busy node, and still only guards against a
// hang: the scenarios log what they measured.
const watcherLimit = 60 * time.Second

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

// fieldEnv is an environment variable from the downward API (metadata.name,
// metadata.labels['KEY'], ...).
func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// jobNameEnv is JOB_NAME: the name of the pod's Job (its job-name label).
var jobNameEnv = fieldEnv("JOB_NAME", "metadata.labels['batch.kubernetes.io/job-name']")

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
		t.Fatalf("create Job %s: %v", job.Name+job.GenerateName, err)
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

// conditionReason is the reason of the Job's condition typ (status True).
func conditionReason(t *testing.T, j *batchv1.Job, typ batchv1.JobConditionType) string {
	t.Helper()
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			if c.Reason == "" {
				t.Fatalf("Job %s: condition %s has no reason", j.Name, typ)
			}
			return c.Reason
		}
	}
	t.Fatalf("Job %s has no condition %s: %+v", j.Name, typ, j.Status.Conditions)
	return ""
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

// runningPod waits until a pod of the Job runs its container and returns it.
func runningPod(t *testing.T, job *batchv1.Job, container string) corev1.Pod {
	t.Helper()
	return runningPodWhere(t, job, container, "", nil)
}

// runningPodWhere waits until a pod of the Job that which accepts (what says
// which) runs its container, and returns it.
func runningPodWhere(t *testing.T, job *batchv1.Job, container, what string, which func(corev1.Pod) bool) corev1.Pod {
	t.Helper()
	ctx := ctxFor(t)
	var found corev1.Pod
	if err := cluster.Poll(ctx, fmt.Sprintf("a pod of Job %s%s running %s", job.Name, what, container), limit, func() (bool, error) {
		l, err := env.Client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job.Name})
		if err != nil {
			return false, nil
		}
		for _, p := range l.Items {
			s := containerStatus(p, container)
			if p.DeletionTimestamp == nil && s != nil && s.State.Running != nil && (which == nil || which(p)) {
				found = p
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, describeJob(job))
	}
	return found
}

// waitJobStatus waits until the Job's status satisfies ok and returns the Job.
func waitJobStatus(t *testing.T, job *batchv1.Job, what string, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	ctx := ctxFor(t)
	var got *batchv1.Job
	if err := cluster.Poll(ctx, "Job "+job.Name+": "+what, limit, func() (bool, error) {
		j, err := env.Client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = j
		return ok(j), nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, describeJob(job))
	}
	return got
}

func containerStatus(p corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
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
// label, volume, init container, wrapped command, probe, preStop hook and environment,
// with the agent in attempt mode (the harness's webhook runs the run watcher).
func assertInjected(t *testing.T, pod corev1.Pod, jobName string, original []string) {
	t.Helper()
	if _, ok := pod.Annotations[annInjected]; !ok {
		t.Fatalf("pod %s: no %s annotation: not injected (annotations %v)", pod.Name, annInjected, pod.Annotations)
	}
	if v := pod.Labels[LabelInjected]; v != "true" {
		t.Errorf("pod %s: label %s=%q, want \"true\" (the run watcher selects on it)", pod.Name, LabelInjected, v)
	}
	if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == VolumeName && v.EmptyDir != nil }) {
		t.Errorf("pod %s: no emptyDir volume %s: %+v", pod.Name, VolumeName, pod.Spec.Volumes)
	}
	if len(pod.Spec.InitContainers) == 0 || pod.Spec.InitContainers[0].Name != InstallerName {
		t.Fatalf("pod %s: first init container is not %s: %+v", pod.Name, InstallerName, pod.Spec.InitContainers)
	}
	init := pod.Spec.InitContainers[0]
	if init.Image != env.Images["jobcheck/agent"] {
		t.Errorf("init container image %q, want the agent image %q", init.Image, env.Images["jobcheck/agent"])
	}
	if want := []string{ImageAgentPath, CommandInstall, AgentPath}; !slices.Equal(init.Command, want) {
		t.Errorf("init container command %q, want %q", init.Command, want)
	}
	c := pod.Spec.Containers[0]
	if want := append([]string{AgentPath, CommandRun, "--"}, original...); !slices.Equal(c.Command, want) {
		t.Errorf("container command %q, want %q", c.Command, want)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.Exec == nil || !slices.Equal(c.LivenessProbe.Exec.Command, []string{AgentPath, CommandProbe}) {
		t.Errorf("liveness probe %+v, want exec %s %s", c.LivenessProbe, AgentPath, CommandProbe)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
		!slices.Equal(c.Lifecycle.PreStop.Exec.Command, []string{AgentPath, CommandPrestop}) {
		t.Errorf("preStop %+v, want exec %s %s", c.Lifecycle, AgentPath, CommandPrestop)
	}
	envs := map[string]string{}
	for _, e := range c.Env {
		envs[e.Name] = e.Value
	}
	for name, want := range map[string]string{
		EnvJob: jobName, EnvPushgateway: env.Pushgateway.URL, EnvSentinel: SentinelPath(c.Name), EnvReport: ReportAttempt,
	} {
		if envs[name] != want {
			t.Errorf("container %s: %s=%q, want %q", c.Name, name, envs[name], want)
		}
	}
}

func assertNotInjected(t *testing.T, pod corev1.Pod) {
	t.Helper()
	if v, ok := pod.Annotations[annInjected]; ok {
		t.Errorf("pod %s/%s: injected (%s=%q), want it left alone", pod.Namespace, pod.Name, annInjected, v)
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == InstallerName {
			t.Errorf("pod %s/%s has the %s init container", pod.Namespace, pod.Name, InstallerName)
		}
	}
	if len(pod.Spec.Containers) > 0 && len(pod.Spec.Containers[0].Command) > 0 && pod.Spec.Containers[0].Command[0] == AgentPath {
		t.Errorf("pod %s/%s: command wrapped: %q", pod.Namespace, pod.Name, pod.Spec.Containers[0].Command)
	}
}

// runKey is the grouping key of a workload's run group (docs/model.md).
func runKey(job, ns string) map[string]string {
	return map[string]string{LabelJob: job, LabelNamespace: ns}
}

// attemptKey is the grouping key of an attempt group: the run group's, plus
// container (a pod wrapping several) or index (an Indexed Job) as label-value pairs.
func attemptKey(job, ns string, pairs ...string) map[string]string {
	k := runKey(job, ns)
	for i := 0; i+1 < len(pairs); i += 2 {
		k[pairs[i]] = pairs[i+1]
	}
	return k
}

// group waits until the Pushgateway holds the group {job, namespace} and ok accepts it.
func group(t *testing.T, job, ns string, what string, ok check) *cluster.Group {
	t.Helper()
	return groupBy(t, runKey(job, ns), what, ok)
}

// groupBy waits until the Pushgateway holds the group with exactly this key and ok accepts it.
func groupBy(t *testing.T, key map[string]string, what string, ok check) *cluster.Group {
	t.Helper()
	return groupIn(t, env.Pushgateway, key, what, limit, ok)
}

// groupIn waits, at most within (a guard against a hang), until Pushgateway pg
// holds the group with exactly this key and ok accepts it.
func groupIn(t *testing.T, pg *cluster.Pushgateway, key map[string]string, what string, within time.Duration, ok check) *cluster.Group {
	t.Helper()
	ctx := ctxFor(t)
	var g *cluster.Group
	if err := cluster.Poll(ctx, "Pushgateway group "+fmt.Sprint(key)+": "+what, within, func() (bool, error) {
		var err error
		g, err = pg.Group(ctx, key)
		if err != nil {
			return false, err
		}
		return g != nil && ok(g), nil
	}); err != nil {
		all, _ := pg.Groups(ctx)
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

// want checks that a metric of the group has the value w.
func want(t *testing.T, g *cluster.Group, metric string, labels map[string]string, w float64) {
	t.Helper()
	if v := value(t, g, metric, labels); v != w {
		t.Errorf("group %v: %s%v = %v, want %v", g.Labels, metric, labels, v, w)
	}
}

// absent checks that the group holds no series of metric.
func absent(t *testing.T, g *cluster.Group, metric string) {
	t.Helper()
	if s, ok := g.Metrics[metric]; ok {
		t.Errorf("group %v holds %s %+v, want none", g.Labels, metric, s)
	}
}

// unix is a Kubernetes time as the reports hold it.
func unix(tm *metav1.Time) float64 {
	if tm == nil {
		return 0
	}
	return float64(tm.Unix())
}

// check is a condition on a Pushgateway group that a scenario waits for.
type check func(*cluster.Group) bool

// runInfo: the latest finished run had this result and reason (the watcher's).
func runInfo(result, reason string) check {
	return func(g *cluster.Group) bool {
		v, ok := g.Value(MetricLastRunInfo, map[string]string{LabelResult: result, LabelReason: reason})
		return ok && v == 1
	}
}

// attemptReason: the latest ended attempt had this reason.
func attemptReason(reason string) check {
	return func(g *cluster.Group) bool {
		v, ok := g.Value(MetricLastAttemptInfo, map[string]string{LabelReason: reason})
		return ok && v == 1
	}
}

// is: the metric (its series with these labels) has value v.
func is(metric string, labels map[string]string, v float64) check {
	return func(g *cluster.Group) bool {
		got, ok := g.Value(metric, labels)
		return ok && got == v
	}
}

// has: the group holds the metric.
func has(metric string) check {
	return func(g *cluster.Group) bool {
		_, ok := g.Metrics[metric]
		return ok
	}
}

// all: every check holds.
func all(checks ...check) check {
	return func(g *cluster.Group) bool {
		for _, c := range checks {
			if !c(g) {
				return false
			}
		}
		return true
	}
}

// A gate is a directory of this machine mounted into a test's pods at /gate: a
// pod's command waits for a file there (gateScript) and exits with the code it
// holds, so a scenario decides when, and how, each run ends without timing
// anything. Pods may write to it too (what the retries scenario counts).
type gate struct{ dir string }

func newGate(t *testing.T) *gate {
	t.Helper()
	dir, err := os.MkdirTemp(env.Dir, "gate-")
	if err != nil {
		t.Fatalf("gate: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("gate: %v", err)
	}
	return &gate{dir: dir}
}

// mount adds the gate to every container of spec.
func (g *gate) mount(spec *corev1.PodSpec) {
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "gate", VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: g.dir, Type: ptr(corev1.HostPathDirectory)}}})
	for i := range spec.Containers {
		spec.Containers[i].VolumeMounts = append(spec.Containers[i].VolumeMounts,
			corev1.VolumeMount{Name: "gate", MountPath: "/gate"})
	}
}

// open lets the pods waiting for name exit with code.
func (g *gate) open(t *testing.T, name string, code int) {
	t.Helper()
	tmp := filepath.Join(g.dir, "."+name)
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(code)+"\n"), 0o644); err != nil {
		t.Fatalf("open gate %s: %v", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(g.dir, name)); err != nil {
		t.Fatalf("open gate %s: %v", name, err)
	}
}

// gateScript is a shell script that waits for the gate file name (which may
// name a shell variable) and exits with the code it holds.
func gateScript(name string) string {
	return fmt.Sprintf(`until [ -e "/gate/%[1]s" ]; do sleep 0.2; done; exit "$(cat "/gate/%[1]s")"`, name)
}

// scraped waits until the run's Prometheus answers expr with at least one
// series: the state an alert is about has been scraped.
func scraped(t *testing.T, expr string) []cluster.QuerySample {
	t.Helper()
	p := prometheus(t)
	ctx := ctxFor(t)
	var got []cluster.QuerySample
	if err := cluster.Poll(ctx, "Prometheus to answer "+expr, limit, func() (bool, error) {
		s, err := p.Query(ctx, expr)
		if err != nil {
			return false, err
		}
		got = s
		return len(s) > 0, nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}
