package runs

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// reasonDeleted is the reason of a stopped run: its Job was deleted before
// it finished (docs/model.md).
const reasonDeleted = "Deleted"

// run is one Job's outcome, in Unix seconds.
type run struct {
	result        string // contract.Result*; empty while the Job runs
	reason        string // the terminal condition's reason, or reasonDeleted
	start, end    float64
	failedIndexes string // failed runs of Indexed Jobs only
}

// jobRun reads a Job's run: its start (status.startTime, else its
// creation), and once it has a terminal condition (Complete or Failed,
// status True) its result, reason and end (status.completionTime of a
// Complete Job, else the condition's time). pods returns the Job's cached
// pods, asked only for the failed indexes of an Indexed Job without
// status.failedIndexes.
func jobRun(j *batchv1.Job, pods func() []*corev1.Pod) run {
	r := run{start: unix(j.Status.StartTime)}
	if r.start == 0 {
		r.start = unix(&j.CreationTimestamp)
	}
	c := terminal(j)
	if c == nil {
		return r
	}
	r.reason = c.Reason
	r.end = unix(&c.LastTransitionTime)
	if c.Type == batchv1.JobComplete {
		r.result = contract.ResultSucceeded
		if t := unix(j.Status.CompletionTime); t != 0 {
			r.end = t
		}
		return r
	}
	r.result = contract.ResultFailed
	if indexed(j) {
		if j.Status.FailedIndexes != nil && *j.Status.FailedIndexes != "" {
			r.failedIndexes = bound(*j.Status.FailedIndexes)
		} else {
			r.failedIndexes = failedIndexes(pods())
		}
	}
	return r
}

// terminal returns the Job's terminal condition, nil while it runs.
func terminal(j *batchv1.Job) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		c := &j.Status.Conditions[i]
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return c
		}
	}
	return nil
}

// stopping returns when the Job's controller decided to end it (a terminal
// condition, FailureTarget or SuccessCriteriaMet), the zero time while it
// has not: from then on it stops the pods still running.
func stopping(j *batchv1.Job) time.Time {
	var at time.Time
	for _, c := range j.Status.Conditions {
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobFailed, batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet:
			if c.Status == corev1.ConditionTrue && (at.IsZero() || c.LastTransitionTime.Before(&metav1.Time{Time: at})) {
				at = c.LastTransitionTime.Time
			}
		}
	}
	return at
}

func indexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

// failedIndexes are the completion indexes of the failed pods, compressed.
// A pod being deleted is left out: its end is the Job controller's (or a
// person's) doing, such as the running index the controller stops when
// another index failed.
func failedIndexes(pods []*corev1.Pod) string {
	var idx []int
	for _, p := range pods {
		if p.Status.Phase != corev1.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		if i, err := strconv.Atoi(p.Annotations[contract.AnnotationCompletionIndex]); err == nil && i >= 0 {
			idx = append(idx, i)
		}
	}
	return compress(idx)
}

func unix(t *metav1.Time) float64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
