package runs

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
)

// t0 is when every scenario starts; at(s) is s seconds later.
var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func at(s int) time.Time              { return t0.Add(time.Duration(s) * time.Second) }
func mt(s int) metav1.Time            { return metav1.NewTime(at(s)) }
func pmt(s int) *metav1.Time          { return ptr.To(mt(s)) }
func sec(s int) float64               { return float64(at(s).Unix()) }
func quiet() *slog.Logger             { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func uid(kind, name string) types.UID { return types.UID(kind + "-" + name) }

const ns = "team-a"

type jobOpt func(*batchv1.Job)

func newJob(name string, opts ...jobOpt) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: uid("job", name), CreationTimestamp: mt(0)}}
	for _, o := range opts {
		o(j)
	}
	return j
}

func startedAt(s int) jobOpt { return func(j *batchv1.Job) { j.Status.StartTime = pmt(s) } }

func condition(t batchv1.JobConditionType, reason string, s int) jobOpt {
	return func(j *batchv1.Job) {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: mt(s)})
	}
}

func completeAt(s int) jobOpt {
	return func(j *batchv1.Job) {
		condition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", s)(j)
		condition(batchv1.JobComplete, "CompletionsReached", s)(j)
		j.Status.CompletionTime = pmt(s)
	}
}

func failedAt(s int, reason string) jobOpt {
	return func(j *batchv1.Job) {
		condition(batchv1.JobFailureTarget, reason, s)(j)
		condition(batchv1.JobFailed, reason, s)(j)
	}
}

func indexedJob(completions int32) jobOpt {
	return func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.Completions = ptr.To(completions)
	}
}

func ownedBy(cj *batchv1.CronJob) jobOpt {
	return func(j *batchv1.Job) {
		j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true)}}
	}
}

func with(j *batchv1.Job, opts ...jobOpt) *batchv1.Job {
	c := j.DeepCopy()
	for _, o := range opts {
		o(c)
	}
	return c
}

type podOpt func(*corev1.Pod)

// newPod is a pod of job as jobcheck injects it in attempt mode, reporting
// workload "nightly" to pushgateway.
func newPod(job *batchv1.Job, name, pushgateway string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: uid("pod", name), CreationTimestamp: mt(0),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Command: []string{contract.AgentPath}, Env: []corev1.EnvVar{
			{Name: contract.EnvJob, Value: "nightly"}, {Name: contract.EnvPushgateway, Value: pushgateway},
			{Name: contract.EnvReport, Value: contract.ReportAttempt},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func index(i int) podOpt {
	return func(p *corev1.Pod) {
		p.Annotations = map[string]string{contract.AnnotationCompletionIndex: fmt.Sprint(i)}
	}
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

func graceEnv(d string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: contract.EnvGrace, Value: d})
	}
}

func running(from int) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(from)}}}}
	}
}

func exited(code int32, reason string, from, to int) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		if code == 0 {
			p.Status.Phase = corev1.PodSucceeded
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, StartedAt: mt(from), FinishedAt: mt(to)}}}}
	}
}

func waiting(reason string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}
	}
}

func deleting(s int, grace int64) podOpt {
	return func(p *corev1.Pod) {
		p.DeletionTimestamp = pmt(s + int(grace))
		p.DeletionGracePeriodSeconds = ptr.To(grace)
	}
}

func podCondition(t corev1.PodConditionType, reason string, s int) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: mt(s)})
	}
}

func withPod(p *corev1.Pod, opts ...podOpt) *corev1.Pod {
	c := p.DeepCopy()
	for _, o := range opts {
		o(c)
	}
	return c
}

func cronJob(name, schedule string, lastSchedule int) *batchv1.CronJob {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: uid("cronjob", name), CreationTimestamp: mt(-86400)},
		Spec: batchv1.CronJobSpec{Schedule: schedule}}
	if lastSchedule >= 0 {
		cj.Status.LastScheduleTime = pmt(lastSchedule)
	}
	return cj
}

// fakeStore is the cluster as the informers would cache it.
type fakeStore struct {
	mu       sync.Mutex
	jobs     map[string]*batchv1.Job
	cronJobs map[string]*batchv1.CronJob
	pods     map[string]*corev1.Pod
}

func newStore() *fakeStore {
	return &fakeStore{jobs: map[string]*batchv1.Job{}, cronJobs: map[string]*batchv1.CronJob{}, pods: map[string]*corev1.Pod{}}
}

func (s *fakeStore) Job(namespace, name string) (*batchv1.Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[namespace+"/"+name]
	return j, ok
}

func (s *fakeStore) CronJob(namespace, name string) (*batchv1.CronJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cj, ok := s.cronJobs[namespace+"/"+name]
	return cj, ok
}

func (s *fakeStore) Pod(namespace, name string) (*corev1.Pod, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pods[namespace+"/"+name]
	return p, ok
}

func (s *fakeStore) PodsOf(job types.UID) []*corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*corev1.Pod
	for _, p := range s.pods {
		if c := metav1.GetControllerOfNoCopy(p); c != nil && c.UID == job {
			out = append(out, p)
		}
	}
	return out
}

func (s *fakeStore) Pods() []*corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*corev1.Pod
	for _, p := range s.pods {
		out = append(out, p)
	}
	return out
}

func (s *fakeStore) CronJobs() []*batchv1.CronJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*batchv1.CronJob
	for _, cj := range s.cronJobs {
		out = append(out, cj)
	}
	return out
}

var _ store = (*fakeStore)(nil)
