package workloads

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
)

var (
	t0   = metav1.NewTime(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC))
	t1   = metav1.NewTime(t0.Add(time.Minute))
	huge = strings.Repeat("x", 10000)
)

func fullMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, GenerateName: name + "-", Namespace: "team-a", UID: "uid-" + "x", ResourceVersion: "42",
		CreationTimestamp: t0, Labels: map[string]string{"app": "x"},
		Annotations: map[string]string{
			"jobcheck.io/enabled": "true", "jobcheck.io/max-age": "1h",
			"kubectl.kubernetes.io/last-applied-configuration": huge,
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: "Update"}},
		OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly", UID: "cj-uid", Controller: ptr.To(true)},
		},
	}
}

var template = corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Args: []string{huge}}}}}

func TestStripJob(t *testing.T) {
	full := &batchv1.Job{
		ObjectMeta: fullMeta("nightly-29345678"),
		Spec: batchv1.JobSpec{Template: template, Completions: ptr.To(int32(3)), Parallelism: ptr.To(int32(2)),
			CompletionMode: ptr.To(batchv1.IndexedCompletion), BackoffLimit: ptr.To(int32(6))},
		Status: batchv1.JobStatus{
			StartTime: &t0, CompletionTime: &t1, FailedIndexes: ptr.To("1,3-5"), Succeeded: 2, Failed: 4, Active: 1,
			Conditions: []batchv1.JobCondition{
				{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse, Reason: "JobResumed"},
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: huge, LastTransitionTime: t1, LastProbeTime: t1},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: huge, LastTransitionTime: t1},
			},
		},
	}
	want := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-29345678", GenerateName: "nightly-29345678-", Namespace: "team-a", UID: "uid-x",
			ResourceVersion: "42", CreationTimestamp: t0,
			Annotations:     map[string]string{"jobcheck.io/enabled": "true", "jobcheck.io/max-age": "1h"},
			OwnerReferences: full.OwnerReferences},
		Spec: batchv1.JobSpec{Completions: ptr.To(int32(3)), Parallelism: ptr.To(int32(2)), CompletionMode: ptr.To(batchv1.IndexedCompletion)},
		Status: batchv1.JobStatus{StartTime: &t0, CompletionTime: &t1, FailedIndexes: ptr.To("1,3-5"), Succeeded: 2, Failed: 4, Active: 1,
			Conditions: []batchv1.JobCondition{
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: t1},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: t1},
			}},
	}
	if d := cmp.Diff(want, stripJob(full)); d != "" {
		t.Errorf("stripJob (-want +got):\n%s", d)
	}
}

func TestStripCronJob(t *testing.T) {
	full := &batchv1.CronJob{
		ObjectMeta: fullMeta("nightly"),
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("Europe/Berlin"), Suspend: ptr.To(true),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template}}},
		Status: batchv1.CronJobStatus{LastScheduleTime: &t0, Active: []corev1.ObjectReference{{Name: "a"}}},
	}
	got := stripCronJob(full)
	want := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "team-a", UID: "uid-x", ResourceVersion: "42", CreationTimestamp: t0,
			Annotations: map[string]string{"jobcheck.io/enabled": "true", "jobcheck.io/max-age": "1h"}},
		Spec:   batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("Europe/Berlin"), Suspend: ptr.To(true)},
		Status: batchv1.CronJobStatus{LastScheduleTime: &t0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stripCronJob (-want +got):\n%s", d)
	}
}

func TestStripPod(t *testing.T) {
	wrappedEnv := []corev1.EnvVar{
		{Name: contract.EnvPushgateway, Value: "http://pg:9091"},
		{Name: contract.EnvJob, Value: "nightly"},
		{Name: contract.EnvNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: contract.EnvContainer, Value: "main"},
		{Name: contract.EnvGrace, Value: "10m0s"},
		{Name: contract.EnvReport, Value: contract.ReportAttempt},
		{Name: contract.EnvSentinel, Value: "/opt/jobcheck/main.heartbeat"},
		{Name: "DB_PASSWORD", Value: "secret"},
	}
	m := fullMeta("nightly-29345678-abcde")
	m.OwnerReferences = []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "Node", Name: "n", UID: "node-uid"},
		{APIVersion: "batch/v1", Kind: "Job", Name: "nightly-29345678", UID: "job-uid", Controller: ptr.To(true)},
	}
	m.Annotations[contract.AnnotationCompletionIndex] = "2"
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = &t1, ptr.To(int64(30))
	full := &corev1.Pod{
		ObjectMeta: m,
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: contract.InstallerName, Command: []string{contract.ImageAgentPath, "install"}}},
			Containers: []corev1.Container{
				{Name: "main", Image: "app", Command: []string{contract.AgentPath, "run", "--", "/app"}, Env: wrappedEnv},
				{Name: "sidecar", Image: "proxy", Command: []string{"/proxy"}, Env: []corev1.EnvVar{{Name: contract.EnvJob, Value: "not-wrapped"}}},
			},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodFailed, Reason: "Evicted", Message: huge, StartTime: &t0, HostIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: huge, LastTransitionTime: t1}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: contract.InstallerName, Image: "agent", ImageID: "sha256:x",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: t0, FinishedAt: t0}}}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Image: "app", ContainerID: "containerd://x", RestartCount: 1,
				State:                corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", Message: huge, StartedAt: t0, FinishedAt: t1}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: t0, FinishedAt: t0}}},
				{Name: "sidecar", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: huge}}}},
		},
	}
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-29345678-abcde", Namespace: "team-a", UID: "uid-x", ResourceVersion: "42",
			CreationTimestamp: t0, DeletionTimestamp: &t1, DeletionGracePeriodSeconds: ptr.To(int64(30)),
			Annotations:     map[string]string{contract.AnnotationCompletionIndex: "2"},
			OwnerReferences: m.OwnerReferences[1:]},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Command: []string{contract.AgentPath}, Env: []corev1.EnvVar{
			{Name: contract.EnvPushgateway, Value: "http://pg:9091"}, {Name: contract.EnvJob, Value: "nightly"},
			{Name: contract.EnvContainer, Value: "main"}, {Name: contract.EnvGrace, Value: "10m0s"},
			{Name: contract.EnvReport, Value: contract.ReportAttempt},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", StartTime: &t0,
			Conditions: []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", LastTransitionTime: t1}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: contract.InstallerName,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: t0, FinishedAt: t0}}}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "main", RestartCount: 1,
				State:                corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: t0, FinishedAt: t1}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: t0, FinishedAt: t0}}},
				{Name: "sidecar", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}},
		},
	}
	if d := cmp.Diff(want, stripPod(full)); d != "" {
		t.Errorf("stripPod (-want +got):\n%s", d)
	}
}

// Stripping is idempotent: a relist may hand an already stripped object back.
func TestStripTwiceIsStripOnce(t *testing.T) {
	j := stripJob(&batchv1.Job{ObjectMeta: fullMeta("a"), Spec: batchv1.JobSpec{Template: template}})
	if d := cmp.Diff(j, stripJob(j)); d != "" {
		t.Errorf("job: %s", d)
	}
	p := stripPod(&corev1.Pod{ObjectMeta: fullMeta("p"), Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Command: []string{contract.AgentPath, "run"}}}}})
	if d := cmp.Diff(p, stripPod(p)); d != "" {
		t.Errorf("pod: %s", d)
	}
}
