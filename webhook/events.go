package webhook

import (
	"fmt"
	"strings"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// The reasons of the Events on a Job and its CronJob whose pod opted in to
// jobcheck but is not monitored (EventNotMonitored) or only partly: some of
// its containers are not wrapped (EventPartlyMonitored).
const (
	EventNotMonitored    = "JobcheckNotMonitored"
	EventPartlyMonitored = "JobcheckPartlyMonitored"
)

// maxEventMessage is the longest Event message the API accepts
// (events.k8s.io/v1's note); longer messages are cut.
const maxEventMessage = 1024

// notice is what a pod that opted in but is not, or only partly, monitored
// is reported with: an Event reason and its message.
type notice struct {
	event   string // EventNotMonitored or EventPartlyMonitored
	message string // what is wrong and how to fix it
}

// unmonitored returns the notice for the admission out, or nil when the pod
// is monitored in full or did not opt in.
//
// A pod skipped by inject opted in unless inject said it did not
// (not-enabled) or that it already is monitored; a pod whose
// jobcheck.io/enabled has a value other than "true" or "false" counts as
// opted in: whoever wrote it believes the job is monitored. An internal
// error is reported when the pod is known to have opted in from what was
// read before it: the pod's annotations, and its Job's and CronJob's once
// looked up.
func unmonitored(out *outcome) *notice {
	switch out.result {
	case resultInjected:
		if len(out.skipped) == 0 {
			return nil
		}
		msgs := make([]string, len(out.skipped))
		for i, s := range out.skipped {
			msgs[i] = s.Message
		}
		return &notice{EventPartlyMonitored, strings.Join(msgs, "; ")}
	case resultSkipped:
		switch out.reason {
		case "not-a-job-pod", inject.ReasonNotEnabled, inject.ReasonAlreadyInjected:
			return nil
		}
		msg := strings.Join(out.response.Warnings, "; ")
		if msg == "" {
			msg = "jobcheck not injected: " + out.reason
		}
		return &notice{EventNotMonitored, msg}
	case resultError:
		if out.job == nil || out.namespace == "" || !optedIn(out) {
			return nil // nothing to put an Event on
		}
		return &notice{EventNotMonitored, fmt.Sprintf("jobcheck: pod admitted without monitoring (%s): %v", out.reason, out.err)}
	}
	return nil
}

// nearest returns the value of the annotation key nearest to the pod among
// what is known: the pod's annotations, then its Job's and CronJob's once
// looked up (inject's order).
func nearest(out *outcome, key string) (string, bool) {
	levels := []map[string]string{out.annotations}
	if out.owner != nil {
		levels = append(levels, out.owner.JobAnnotations, out.owner.CronJobAnnotations)
	}
	for _, a := range levels {
		if v, ok := a[key]; ok {
			return v, true
		}
	}
	return "", false
}

// optedIn reports whether the nearest known jobcheck.io/enabled is "true".
func optedIn(out *outcome) bool {
	v, _ := nearest(out, contract.AnnotationEnabled)
	return v == "true"
}

// workload is the job label the pod's metrics have (inject's choice): the
// nearest jobcheck.io/job-name, else its CronJob's name, else its Job's as
// the owner lookup named it; "" when none of them is known.
func workload(out *outcome) string {
	if v, ok := nearest(out, contract.AnnotationJobName); ok && strings.TrimSpace(v) != "" {
		return v
	}
	if out.owner == nil {
		return ""
	}
	if out.owner.CronJobName != "" {
		return out.owner.CronJobName
	}
	return out.owner.JobName
}

// report counts a pod that opted in but is not, or only partly, monitored,
// and records a Warning Event on its Job and, when it has one, its CronJob,
// where `kubectl describe` shows them to the people who run the job. The
// admission warning goes to whoever created the pod, the Job controller,
// and no person reads it. Never called for a dry run.
//
// The Events go through client-go's recorder: its correlator counts the
// same Event again (every retry pod of a Job, every run of a CronJob) on
// one Event object instead of creating another, and rate-limits each
// object's Events.
func (h *Handler) report(out *outcome) {
	n := out.notice
	if n == nil {
		return
	}
	h.opts.Metrics.unmonitored.WithLabelValues(out.namespace, workload(out), out.reason).Inc()
	if h.opts.Events == nil {
		return
	}
	msg := cut(n.message, maxEventMessage)
	h.opts.Events.Event(jobReference(out), corev1.EventTypeWarning, n.event, msg)
	if ref := cronJobReference(out); ref != nil {
		h.opts.Events.Event(ref, corev1.EventTypeWarning, n.event, msg)
	}
}

// jobReference is the Job of out, from the pod's controller reference.
func jobReference(out *outcome) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind:       out.job.Kind,
		APIVersion: out.job.APIVersion,
		Name:       out.job.Name,
		Namespace:  out.namespace,
		UID:        out.job.UID,
	}
}

// cronJobReference is the CronJob of out, nil when it has none or the owner
// lookup did not say.
func cronJobReference(out *outcome) *corev1.ObjectReference {
	if out.owner == nil || out.owner.CronJobName == "" {
		return nil
	}
	return &corev1.ObjectReference{
		Kind:       "CronJob",
		APIVersion: batchv1.SchemeGroupVersion.String(),
		Name:       out.owner.CronJobName,
		Namespace:  out.namespace,
		UID:        out.owner.CronJobUID,
	}
}

// cut returns s cut to at most n bytes at a rune boundary, ending in "..."
// when it was cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("...")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
