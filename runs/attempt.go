package runs

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// sigkillExit is the exit code of a wrapper killed by SIGKILL (128+9): the
// one code the agent cannot exit with on its own behalf unless its child died
// of SIGKILL, in which case the agent's report and the watcher's agree.
const sigkillExit = 137

// noExitCode is pushed as the exit code of an attempt that has none: lost
// (its process may still run on an unreachable node) or never started.
const noExitCode = -1

// oomKilled is the kubelet's reason for a container its OOM killer ended.
const oomKilled = "OOMKilled"

// notStartedReasons are the kubelet's reasons for a container waiting to
// start that will not start by itself.
var notStartedReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// attemptID names one attempt: a pod, a container, the container's restart
// count when the attempt ran.
type attemptID struct {
	pod       types.UID
	podName   string
	container string
	restart   int32
}

// attempt is an ended attempt the agent could not report.
type attempt struct {
	id             attemptID
	group          string // contract.EnvContainer's value and the completion index: see groupKey
	container      string // the container label ("" unless the pod wraps several)
	index          string // the index label ("" unless an Indexed Job's pod)
	reason, detail string
	exitCode       int
	end, duration  float64
}

func groupKey(container, index string) string { return container + "\x00" + index }

func (a *attempt) samples() []pushgateway.Sample {
	return []pushgateway.Sample{
		{Name: contract.MetricLastAttemptInfo, Labels: [][2]string{{contract.LabelReason, a.reason}, {contract.LabelDetail, a.detail}}, Value: 1},
		{Name: contract.MetricLastAttemptExitCode, Value: float64(a.exitCode)},
		{Name: contract.MetricLastAttemptEnd, Value: a.end},
		{Name: contract.MetricLastAttemptDuration, Value: a.duration},
	}
}

// attempts returns the ended attempts of pod p's wrapped, attempt-mode
// containers that only the watcher can report (docs/runs.md):
//
//   - killed with its wrapper: a container terminated with exit code 137;
//     oom_killed if the kubelet says OOMKilled, terminated if Kubernetes was
//     stopping it (the pod being deleted, evicted, a DisruptionTarget, or its
//     Job already ending), else signaled;
//   - lost: the pod vanished (gone is true) or failed while the container
//     still ran;
//   - not_started: the container waits for something that will not come
//     (an image pull, its configuration), or the pod failed before it ran.
//
// job is the pod's Job as cached (nil if unknown); now is the time of a
// deletion that left no deletion timestamp.
func attempts(p *corev1.Pod, job *batchv1.Job, gone bool, now time.Time) []attempt {
	var out []attempt
	index := p.Annotations[contract.AnnotationCompletionIndex]
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if env(c, contract.EnvReport) != contract.ReportAttempt {
			continue
		}
		label := env(c, contract.EnvContainer)
		base := attempt{group: groupKey(label, index), container: label, index: index}
		s := status(p, c.Name)
		mk := func(restart int32) attempt {
			a := base
			a.id = attemptID{pod: p.UID, podName: p.Name, container: c.Name, restart: restart}
			return a
		}
		if s == nil {
			if p.Status.Phase == corev1.PodFailed {
				a := mk(0)
				notStarted(&a, p, "")
				out = append(out, a)
			}
			continue
		}
		if t := s.LastTerminationState.Terminated; t != nil && t.ExitCode == sigkillExit && s.RestartCount > 0 {
			a := mk(s.RestartCount - 1)
			killed(&a, p, job, t)
			out = append(out, a)
		}
		switch st := s.State; {
		case st.Terminated != nil:
			if st.Terminated.ExitCode == sigkillExit {
				a := mk(s.RestartCount)
				killed(&a, p, job, st.Terminated)
				out = append(out, a)
			}
		case st.Running != nil:
			if gone || p.Status.Phase == corev1.PodFailed {
				a := mk(s.RestartCount)
				lost(&a, p, st.Running.StartedAt, gone, now)
				out = append(out, a)
			}
		default: // waiting, or no state yet
			reason := ""
			if st.Waiting != nil {
				reason = st.Waiting.Reason
			}
			if notStartedReasons[reason] || p.Status.Phase == corev1.PodFailed {
				a := mk(s.RestartCount)
				notStarted(&a, p, reason)
				out = append(out, a)
			}
		}
	}
	return out
}

// killed fills in an attempt whose wrapper was killed by SIGKILL.
func killed(a *attempt, p *corev1.Pod, job *batchv1.Job, t *corev1.ContainerStateTerminated) {
	a.exitCode, a.detail = sigkillExit, t.Reason
	a.end = unix(&t.FinishedAt)
	a.duration = max(a.end-unix(&t.StartedAt), 0)
	switch {
	case t.Reason == oomKilled:
		a.reason = contract.ReasonOOMKilled
	case stoppedByKubernetes(p, job, t.FinishedAt.Time):
		a.reason = contract.ReasonTerminated
	default:
		a.reason = contract.ReasonSignaled
	}
}

// stoppedByKubernetes reports whether Kubernetes had begun stopping the pod
// when its container ended at end: its deletion was requested (the
// deletion timestamp less its grace period) or a DisruptionTarget set at or
// before end, the kubelet evicted it, or its Job's controller had decided
// to end the Job before end (strictly: a condition set in the same second
// may be the consequence of this very kill).
func stoppedByKubernetes(p *corev1.Pod, job *batchv1.Job, end time.Time) bool {
	if d := p.DeletionTimestamp; d != nil {
		requested := d.Time
		if g := p.DeletionGracePeriodSeconds; g != nil {
			requested = requested.Add(-time.Duration(*g) * time.Second)
		}
		if !requested.After(end) {
			return true
		}
	}
	if c := disruption(p); c != nil && !c.LastTransitionTime.After(end) {
		return true
	}
	if p.Status.Reason == "Evicted" {
		return true
	}
	if job != nil {
		if at := stopping(job); !at.IsZero() && at.Before(end) {
			return true
		}
	}
	return false
}

// lost fills in an attempt whose pod vanished or failed while it ran. It
// ended at the pod's deletion timestamp, else (a pod that failed) at the
// pod's latest change, else now.
func lost(a *attempt, p *corev1.Pod, started metav1.Time, gone bool, now time.Time) {
	a.reason, a.exitCode = contract.ReasonLost, noExitCode
	a.detail = p.Status.Reason
	if c := disruption(p); c != nil && a.detail == "" {
		a.detail = c.Reason
	}
	switch {
	case p.DeletionTimestamp != nil:
		a.end = unix(p.DeletionTimestamp)
	case !gone:
		a.end = changed(p)
	default:
		a.end = float64(now.Unix())
	}
	a.duration = max(a.end-unix(&started), 0)
}

// notStarted fills in an attempt that never ran. The detail is the
// container's waiting reason when it is one that blocks it, else the reason
// of the init container that failed, else the pod's (Evicted, ...), else its
// DisruptionTarget's, else the waiting reason (ContainerCreating). It ended
// at the pod's latest change, a time every replica reads the same.
func notStarted(a *attempt, p *corev1.Pod, waiting string) {
	a.reason, a.exitCode = contract.ReasonNotStarted, noExitCode
	if notStartedReasons[waiting] {
		a.detail = waiting
	}
	if a.detail == "" {
		for _, s := range p.Status.InitContainerStatuses {
			if t := s.State.Terminated; t != nil && t.ExitCode != 0 {
				a.detail = t.Reason
				break
			}
		}
	}
	if a.detail == "" {
		a.detail = p.Status.Reason
	}
	if c := disruption(p); c != nil && a.detail == "" {
		a.detail = c.Reason
	}
	if a.detail == "" {
		a.detail = waiting
	}
	a.end = changed(p)
}

// changed is the latest time recorded in a pod's status: its newest
// condition, else its start, else its creation.
func changed(p *corev1.Pod) float64 {
	var t float64
	for i := range p.Status.Conditions {
		t = max(t, unix(&p.Status.Conditions[i].LastTransitionTime))
	}
	if t == 0 {
		t = unix(p.Status.StartTime)
	}
	if t == 0 {
		t = unix(&p.CreationTimestamp)
	}
	return t
}

func disruption(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func status(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func env(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
