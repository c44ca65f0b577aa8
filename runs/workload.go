package runs

import (
	"cmp"
	"math"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/jobcheck/jobcheck/contract"
)

// store is what the watcher reads of the cluster: workloads.Cache.
type store interface {
	Job(namespace, name string) (*batchv1.Job, bool)
	CronJob(namespace, name string) (*batchv1.CronJob, bool)
	Pod(namespace, name string) (*corev1.Pod, bool)
	PodsOf(job types.UID) []*corev1.Pod
	Pods() []*corev1.Pod
	CronJobs() []*batchv1.CronJob
}

// key names a workload: its run group on its Pushgateway.
type key struct {
	pushgateway, namespace, job string
}

// podKey is the workload of pod p: from its first wrapped container in
// attempt mode with a job and a Pushgateway. ok is false for a pod the
// watcher does not report (run mode, no Pushgateway).
func podKey(p *corev1.Pod) (key, *corev1.Container, bool) {
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		if env(c, contract.EnvReport) != contract.ReportAttempt {
			continue
		}
		k := key{pushgateway: env(c, contract.EnvPushgateway), namespace: p.Namespace, job: env(c, contract.EnvJob)}
		if k.pushgateway != "" && k.job != "" {
			return k, c, true
		}
	}
	return key{}, nil, false
}

// jobRef is a Job of a workload.
type jobRef struct {
	name    string
	seen    bool         // it was in the cache once
	counted bool         // its outcome is in the state (or was before the read-back)
	gone    *batchv1.Job // its last state once deleted, until the next update
	goneAt  time.Time    // when the deletion was seen
}

// workload is the watcher's state of one workload during a leadership term.
type workload struct {
	key
	readBack bool     // the Pushgateway's values are in state (the only way pushing starts)
	floor    float64  // state.watermark() at the read-back: runs ending at or before it were counted before
	state    runState // what the run group holds once the next push succeeds
	pushed   runState // what was last pushed
	dirty    bool     // state differs from the Pushgateway's (or a resync asks for a push)
	recent   []float64
	jobs     map[types.UID]*jobRef
	grace    time.Duration
	cron     *metav1.OwnerReference // the CronJob controlling its latest Job, if any

	pending     map[attemptID]attempt // attempts to push
	reported    map[attemptID]bool    // attempts pushed or passed over this term
	attemptEnds map[string]float64    // latest attempt end per attempt group: read back, then pushed
	lookedFor   bool                  // made from a CronJob event, not a pod: pushed only if found
	found       bool                  // its run group was in the Pushgateway at the read-back
	runs        map[string]int        // runs counted since the last push, by result: for the metrics
}

func newWorkload(k key) *workload {
	return &workload{key: k, jobs: map[types.UID]*jobRef{}, grace: contract.DefaultGrace,
		pending: map[attemptID]attempt{}, reported: map[attemptID]bool{}, attemptEnds: map[string]float64{},
		runs: map[string]int{}}
}

// update advances the state from the cached objects: it counts every Job
// that finished (or was deleted) since it was last seen, in order of end,
// once, and only when it ended after the floor (a stopped run has no
// outcome to count twice: it is reported once, by whoever sees its
// deletion); then recomputes the running count, the latest start and, for a
// CronJob's workload, its deadline and suspension. It returns the Jobs it
// no longer follows.
func (w *workload) update(s store, now time.Time) (dropped []types.UID, warn error) {
	var finished []run
	running := 0
	for uid, ref := range w.jobs {
		if ref.counted && ref.gone == nil {
			continue // finished and counted: nothing of it changes any more
		}
		j := ref.gone
		if j == nil {
			c, ok := s.Job(w.namespace, ref.name)
			switch {
			case ok && c.UID == uid:
				j, ref.seen = c, true
				if cr := metav1.GetControllerOfNoCopy(c); cr != nil && cr.Kind == "CronJob" {
					w.cron = cr
				}
			case !ref.seen && len(s.PodsOf(uid)) > 0:
				// Its pod was seen before the Job itself reached the cache
				// (two informers): it runs.
				running++
				continue
			case !ref.seen:
				delete(w.jobs, uid) // never cached, no pod left: nothing to report
				dropped = append(dropped, uid)
				continue
			default: // gone without a deletion seen: its last state is unknown
				ref.gone, ref.goneAt = &batchv1.Job{}, now
				j = ref.gone
			}
		}
		r := jobRun(j, func() []*corev1.Pod { return s.PodsOf(uid) })
		w.state.lastStart = max(w.state.lastStart, r.start)
		if r.result == "" && ref.gone == nil {
			running++
			continue
		}
		if r.result == "" { // deleted before it finished
			r.result, r.reason = contract.ResultStopped, reasonDeleted
			r.end = float64(ref.goneAt.Unix())
			if d := j.DeletionTimestamp; d != nil {
				r.end = unix(d)
			}
		}
		if !ref.counted {
			ref.counted = true
			if r.result == contract.ResultStopped || r.end > w.floor {
				finished = append(finished, r)
			}
		}
		if ref.gone != nil {
			delete(w.jobs, uid)
			dropped = append(dropped, uid)
		}
	}
	slices.SortStableFunc(finished, func(a, b run) int { return cmp.Compare(a.end, b.end) })
	for _, r := range finished {
		w.recent = w.state.count(r, w.recent)
		w.runs[r.result]++
	}
	w.state.running = running
	if w.cron != nil {
		cj, ok := s.CronJob(w.namespace, w.cron.Name)
		if !ok || cj.UID != w.cron.UID {
			// Deleted: it will never run again, and must not be overdue
			// forever (time() > +Inf is never true).
			w.state.cron, w.state.deadline = true, math.Inf(1)
		}
		if ok && cj.UID == w.cron.UID {
			w.state.cron = true
			w.state.suspended = cj.Spec.Suspend != nil && *cj.Spec.Suspend
			d, err := deadline(cj, w.grace)
			if err != nil {
				warn = err
			}
			w.state.deadline = 0
			if !d.IsZero() {
				w.state.deadline = float64(d.Unix())
			}
		}
	}
	if w.state != w.pushed {
		w.dirty = true
	}
	return dropped, warn
}

// latestAttempt is the latest end of an attempt of group g other than id:
// the one read back or pushed, or an attempt the cached pods of the
// workload's Jobs show ended (by their agent or the kubelet).
func (w *workload) latestAttempt(s store, g string, id attemptID) float64 {
	latest := w.attemptEnds[g]
	for uid := range w.jobs {
		for _, p := range s.PodsOf(uid) {
			for i := range p.Spec.Containers {
				c := &p.Spec.Containers[i]
				if groupKey(env(c, contract.EnvContainer), p.Annotations[contract.AnnotationCompletionIndex]) != g {
					continue
				}
				st := status(p, c.Name)
				if st == nil {
					continue
				}
				ended := [2]*corev1.ContainerStateTerminated{st.State.Terminated, st.LastTerminationState.Terminated}
				for n, t := range ended {
					restart := st.RestartCount - int32(n)
					if t == nil || (p.UID == id.pod && c.Name == id.container && restart == id.restart) {
						continue
					}
					latest = max(latest, unix(&t.FinishedAt))
				}
			}
		}
	}
	return latest
}
