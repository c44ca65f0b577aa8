package webhook

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	admissionv1 "k8s.io/api/admission/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// podInput is what inject.Pod is called with.
type podInput struct {
	pod    *corev1.Pod
	owner  inject.Owner
	images inject.Images
	cfg    inject.Config
}

// outcome is the answer to one admission, with what the metrics, the log
// line and the Events say about it.
type outcome struct {
	response *admissionv1.AdmissionResponse
	result   string // injected, skipped or error
	reason   string
	pod      string // name, or generateName for a pod not yet named
	err      error  // the internal error behind result=error

	// What is known of the pod, for the log line and the Events.
	namespace   string
	annotations map[string]string      // the pod's
	job         *metav1.OwnerReference // the pod's controller, when a Job
	owner       *inject.Owner          // its Job and CronJob, once looked up
	skipped     []inject.Skip          // containers of an injected pod left unwrapped

	// notice is set when the pod opted in but is not monitored, or only
	// partly: it is then counted and reported in Events (report).
	notice *notice
}

// ownerName names the pod's owner in the log line: "Job NAME" or
// "CronJob NAME/Job NAME"; empty when no Job controls the pod.
func (o *outcome) ownerName() string {
	switch {
	case o.job == nil:
		return ""
	case o.owner != nil && o.owner.CronJobName != "":
		return "CronJob " + o.owner.CronJobName + "/Job " + o.job.Name
	default:
		return "Job " + o.job.Name
	}
}

// admit decides one admission request. It always allows the pod: an internal
// error, even a panic, admits it unmutated with a warning (fail-open).
func (h *Handler) admit(ctx context.Context, req *request) (out outcome) {
	out = outcome{response: &admissionv1.AdmissionResponse{Allowed: true}}
	defer func() {
		if p := recover(); p != nil {
			h.opts.Log.Error("panic in admission", "uid", req.UID, "panic", p, "stack", string(debug.Stack()))
			out = failOpen(out, "panic", fmt.Errorf("internal panic: %v", p))
		}
		out.notice = unmonitored(&out)
	}()

	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return failOpen(out, "unexpected-kind", fmt.Errorf("expected a pod, got %s %s (subresource %q)", req.Kind.String(), req.Resource.String(), req.SubResource))
	}
	if req.Operation != admissionv1.Create {
		return failOpen(out, "unexpected-operation", fmt.Errorf("expected CREATE, got %s", req.Operation))
	}
	if req.objectErr != nil {
		return failOpen(out, "decode-pod", req.objectErr)
	}
	if req.Object == nil {
		return failOpen(out, "no-object", errors.New("request has no object"))
	}
	pod := req.Object
	out.pod = pod.Name
	if out.pod == "" {
		out.pod = pod.GenerateName
	}
	out.namespace = req.Namespace // pod.Namespace may still be empty at admission
	if out.namespace == "" {
		out.namespace = pod.Namespace
	}
	out.annotations = pod.Annotations
	out.job = jobRef(pod)
	if out.job == nil {
		return skip(out, "not-a-job-pod", nil)
	}
	if out.namespace == "" {
		return failOpen(out, "no-namespace", errors.New("request names no namespace"))
	}

	// The API server calls again for a pod it injected when a later plugin
	// changed it (reinvocationPolicy IfNeeded): that call needs no owner, and
	// a lookup failing then would report a monitored pod as unmonitored.
	if _, ok := pod.Annotations[contract.AnnotationInjected]; ok {
		return skip(out, inject.ReasonAlreadyInjected, nil)
	}

	lookupCtx, cancel := context.WithTimeout(ctx, h.opts.LookupTimeout)
	owner, err := h.opts.Owners.Lookup(lookupCtx, out.namespace, *out.job)
	cancel()
	if err != nil {
		return failOpen(out, "owner-lookup", fmt.Errorf("look up owner: %w", err))
	}
	out.owner = &owner

	images := h.images(ctx, pod, out.namespace, owner)
	res := h.mutate(&podInput{pod: pod, owner: owner, images: images, cfg: h.opts.Inject})
	if !res.Injected {
		return skip(out, res.Reason, res.Warnings)
	}
	if res.Pod == nil {
		return failOpen(out, "inject-empty", errors.New("inject reported an injection but returned no pod"))
	}
	patch, err := inject.Patch(pod, res.Pod)
	if err != nil {
		return failOpen(out, "patch", err)
	}
	out.response.Warnings = append(out.response.Warnings, res.Warnings...)
	out.result, out.reason = resultInjected, orDefault(res.Reason, resultInjected)
	out.skipped = res.Skipped
	if string(patch) != "[]" {
		pt := admissionv1.PatchTypeJSONPatch
		out.response.Patch, out.response.PatchType = patch, &pt
	}
	return out
}

// jobRef is the pod's controller reference when a batch Job is that controller.
func jobRef(pod *corev1.Pod) *metav1.OwnerReference {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "Job" || groupOf(ref.APIVersion) != batchv1.GroupName || ref.Name == "" {
		return nil
	}
	return ref
}

func skip(out outcome, reason string, warnings []string) outcome {
	out.result, out.reason = resultSkipped, orDefault(reason, "skipped")
	out.response.Warnings = append(out.response.Warnings, warnings...)
	return out
}

// failOpen turns out into an admission without a patch, with a warning that
// says the pod runs without jobcheck and why.
func failOpen(out outcome, reason string, err error) outcome {
	out.result, out.reason, out.err = resultError, reason, err
	out.response.Patch, out.response.PatchType = nil, nil
	out.response.Warnings = append(out.response.Warnings,
		fmt.Sprintf("jobcheck: pod admitted without monitoring (%s): %v", reason, err))
	out.skipped = nil
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
