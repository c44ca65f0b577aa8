package workloads

import (
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// annotationPrefix marks the annotations jobcheck reads (jobcheck.io/enabled,
// /pushgateway, /job-name, ...); only those are kept, so that a large
// kubectl.kubernetes.io/last-applied-configuration costs nothing.
const annotationPrefix = contract.AnnotationPrefix

// envKept are the environment variables of a wrapped container the run
// watcher reads: which workload and Pushgateway the attempt belongs to, its
// attempt group's container label, the CronJob's grace and who reports runs.
var envKept = []string{contract.EnvJob, contract.EnvPushgateway, contract.EnvContainer, contract.EnvGrace, contract.EnvReport}

// jobConditions are the Job conditions kept: the terminal ones and the two
// the Job controller sets before them.
var jobConditions = []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed, batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet}

// stripJob keeps a Job's identity, owner references, jobcheck.io
// annotations, generateName, completion mode, completions, parallelism,
// start and completion times, the conditions above (type, status, reason,
// time), failed indexes and pod counts. The pod template, the bulk of a Job,
// is dropped.
func stripJob(j *batchv1.Job) *batchv1.Job {
	out := &batchv1.Job{
		ObjectMeta: keepMeta(&j.ObjectMeta),
		Spec: batchv1.JobSpec{
			CompletionMode: j.Spec.CompletionMode,
			Completions:    j.Spec.Completions,
			Parallelism:    j.Spec.Parallelism,
		},
		Status: batchv1.JobStatus{
			StartTime:      j.Status.StartTime,
			CompletionTime: j.Status.CompletionTime,
			FailedIndexes:  j.Status.FailedIndexes,
			Succeeded:      j.Status.Succeeded,
			Failed:         j.Status.Failed,
			Active:         j.Status.Active,
		},
	}
	out.GenerateName = j.GenerateName
	out.OwnerReferences = j.OwnerReferences
	for _, c := range j.Status.Conditions {
		for _, t := range jobConditions {
			if c.Type == t {
				out.Status.Conditions = append(out.Status.Conditions, batchv1.JobCondition{
					Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime,
				})
			}
		}
	}
	return out
}

// stripCronJob keeps a CronJob's identity, jobcheck.io annotations,
// schedule, time zone, suspend and last schedule time; the job template is
// dropped.
func stripCronJob(cj *batchv1.CronJob) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: keepMeta(&cj.ObjectMeta),
		Spec: batchv1.CronJobSpec{
			Schedule: cj.Spec.Schedule,
			TimeZone: cj.Spec.TimeZone,
			Suspend:  cj.Spec.Suspend,
		},
		Status: batchv1.CronJobStatus{LastScheduleTime: cj.Status.LastScheduleTime},
	}
}

// stripPod keeps a pod's identity, its controller reference, its completion
// index annotation, deletion time and grace, phase, reason, conditions (type,
// status, reason, time), the status of every container and init container
// (name, state, last termination state, restart count; no image, no IDs),
// and of the spec only the wrapped containers (command[0] is the agent):
// their name, that first argument and the env values in envKept.
func stripPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:                       p.Name,
			Namespace:                  p.Namespace,
			UID:                        p.UID,
			ResourceVersion:            p.ResourceVersion,
			CreationTimestamp:          p.CreationTimestamp,
			DeletionTimestamp:          p.DeletionTimestamp,
			DeletionGracePeriodSeconds: p.DeletionGracePeriodSeconds,
		},
		Status: corev1.PodStatus{
			Phase:     p.Status.Phase,
			Reason:    p.Status.Reason,
			StartTime: p.Status.StartTime,
		},
	}
	if c := metav1.GetControllerOfNoCopy(p); c != nil {
		out.OwnerReferences = []metav1.OwnerReference{*c}
	}
	if v, ok := p.Annotations[contract.AnnotationCompletionIndex]; ok {
		out.Annotations = map[string]string{contract.AnnotationCompletionIndex: v}
	}
	for _, c := range p.Status.Conditions {
		out.Status.Conditions = append(out.Status.Conditions, corev1.PodCondition{
			Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime,
		})
	}
	out.Status.InitContainerStatuses = containerStatuses(p.Status.InitContainerStatuses)
	out.Status.ContainerStatuses = containerStatuses(p.Status.ContainerStatuses)
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if len(c.Command) == 0 || c.Command[0] != contract.AgentPath {
			continue
		}
		w := corev1.Container{Name: c.Name, Command: []string{contract.AgentPath}}
		for _, e := range c.Env {
			for _, name := range envKept {
				if e.Name == name && e.ValueFrom == nil {
					w.Env = append(w.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
				}
			}
		}
		out.Spec.Containers = append(out.Spec.Containers, w)
	}
	return out
}

func containerStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, s := range in {
		out[i] = corev1.ContainerStatus{
			Name:                 s.Name,
			State:                state(s.State),
			LastTerminationState: state(s.LastTerminationState),
			RestartCount:         s.RestartCount,
		}
	}
	return out
}

// state keeps a container state without its messages, which can be long
// (a termination message is up to 4 KiB).
func state(s corev1.ContainerState) corev1.ContainerState {
	var out corev1.ContainerState
	if w := s.Waiting; w != nil {
		out.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason}
	}
	if r := s.Running; r != nil {
		out.Running = &corev1.ContainerStateRunning{StartedAt: r.StartedAt}
	}
	if t := s.Terminated; t != nil {
		out.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: t.ExitCode, Signal: t.Signal, Reason: t.Reason, StartedAt: t.StartedAt, FinishedAt: t.FinishedAt,
		}
	}
	return out
}

func keepMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
		Annotations:       settings(m.Annotations),
	}
}

func settings(annotations map[string]string) map[string]string {
	var out map[string]string
	for k, v := range annotations {
		if strings.HasPrefix(k, annotationPrefix) {
			if out == nil {
				out = make(map[string]string, 4)
			}
			out[k] = v
		}
	}
	return out
}
