package runs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// Which attempts the watcher reports, from typed pods as the kubelet leaves them.
func TestAttempts(t *testing.T) {
	job := newJob("nightly-1", startedAt(0))
	base := newPod(job, "p", "http://pg")
	type want struct {
		reason, detail string
		exit           int
		end, duration  float64
		restart        int32
	}
	two := func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: 2,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(100)}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: "OOMKilled", StartedAt: mt(50), FinishedAt: mt(90)}}}}
	}
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		job  *batchv1.Job
		gone bool
		want []want
	}{
		{"running: nothing", withPod(base, running(10)), job, false, nil},
		{"exit 1: the agent's", withPod(base, exited(1, "Error", 10, 20)), job, false, nil},
		{"exit 143 after SIGTERM: the agent's", withPod(base, exited(143, "Error", 10, 20), deleting(15, 30)), job, false, nil},
		{"OOM kill of the whole container", withPod(base, exited(137, "OOMKilled", 10, 70)), job, false,
			[]want{{contract.ReasonOOMKilled, "OOMKilled", 137, sec(70), 60, 0}}},
		{"SIGKILL by nobody in Kubernetes", withPod(base, exited(137, "Error", 10, 70)), job, false,
			[]want{{contract.ReasonSignaled, "Error", 137, sec(70), 60, 0}}},
		{"SIGKILL after the pod's deletion (grace over)", withPod(base, exited(137, "Error", 10, 70), deleting(40, 30)), job, false,
			[]want{{contract.ReasonTerminated, "Error", 137, sec(70), 60, 0}}},
		{"deleted only after it died: not the cause", withPod(base, exited(137, "Error", 10, 70), deleting(80, 30)), job, false,
			[]want{{contract.ReasonSignaled, "Error", 137, sec(70), 60, 0}}},
		{"evicted", withPod(base, exited(137, "Error", 10, 70), podCondition(corev1.DisruptionTarget, "EvictionByEvictionAPI", 65)), job, false,
			[]want{{contract.ReasonTerminated, "Error", 137, sec(70), 60, 0}}},
		{"its Job was already failing (a sibling index failed)", withPod(base, exited(137, "Error", 10, 70)),
			with(job, condition(batchv1.JobFailureTarget, "FailedIndexes", 60)), false,
			[]want{{contract.ReasonTerminated, "Error", 137, sec(70), 60, 0}}},
		{"its Job failed in the same second: maybe because of it", withPod(base, exited(137, "Error", 10, 70)),
			with(job, failedAt(70, "BackoffLimitExceeded")), false,
			[]want{{contract.ReasonSignaled, "Error", 137, sec(70), 60, 0}}},
		{"restarted in place after an OOM kill", withPod(base, two), job, false,
			[]want{{contract.ReasonOOMKilled, "OOMKilled", 137, sec(90), 40, 1}}},
		{"pod force-deleted while running", withPod(base, running(10)), job, true,
			[]want{{contract.ReasonLost, "", noExitCode, sec(500), 490, 0}}},
		{"pod deleted with a deletion timestamp while running", withPod(base, running(10), deleting(100, 0)), job, true,
			[]want{{contract.ReasonLost, "", noExitCode, sec(100), 90, 0}}},
		{"node lost: pod failed, container still running", withPod(base, running(10), phase(corev1.PodFailed),
			podCondition(corev1.DisruptionTarget, "DeletionByPodGC", 300)), job, false,
			[]want{{contract.ReasonLost, "DeletionByPodGC", noExitCode, sec(300), 290, 0}}},
		{"image pull back-off", withPod(base, waiting("ImagePullBackOff"), podCondition(corev1.PodScheduled, "", 5)), job, false,
			[]want{{contract.ReasonNotStarted, "ImagePullBackOff", noExitCode, sec(5), 0, 0}}},
		{"container creating: not yet", withPod(base, waiting("ContainerCreating")), job, false, nil},
		{"evicted before it started", withPod(base, waiting("ContainerCreating"), phase(corev1.PodFailed), func(p *corev1.Pod) { p.Status.Reason = "Evicted" },
			podCondition(corev1.DisruptionTarget, "TerminationByKubelet", 40)), job, false,
			[]want{{contract.ReasonNotStarted, "Evicted", noExitCode, sec(40), 0, 0}}},
		{"failed init container", withPod(base, phase(corev1.PodFailed), podCondition(corev1.PodInitialized, "", 30), func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: contract.InstallerName, State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}
		}), job, false, []want{{contract.ReasonNotStarted, "Error", noExitCode, sec(30), 0, 0}}},
		{"run mode: the agent reports all", withPod(base, exited(137, "OOMKilled", 10, 70), func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[2].Value = contract.ReportRun
		}), job, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []want
			for _, a := range attempts(c.pod, c.job, c.gone, at(500)) {
				got = append(got, want{a.reason, a.detail, a.exitCode, a.end, a.duration, a.id.restart})
				if a.id.pod != c.pod.UID || a.id.container != "main" || a.group != groupKey("", "") {
					t.Errorf("attempt id %+v group %q", a.id, a.group)
				}
			}
			if d := cmp.Diff(c.want, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// The attempt group: container label only when set, index from the annotation.
func TestAttemptGroup(t *testing.T) {
	job := newJob("idx", indexedJob(3))
	p := newPod(job, "p", "http://pg", index(2), exited(137, "OOMKilled", 0, 5), func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: contract.EnvContainer, Value: "main"})
	})
	a := attempts(p, job, false, at(0))
	if len(a) != 1 || a[0].container != "main" || a[0].index != "2" {
		t.Fatalf("attempts = %+v", a)
	}
	if got := contract.Grouping("nightly", ns, a[0].container, a[0].index); len(got) != 4 {
		t.Errorf("grouping %v", got)
	}
}
