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
	sigsjson "sigs.k8s.io/json"

	"github.com/jobcheck/jobcheck/inject"
)

// podInput is what inject.Pod is called with.
type podInput struct {
	pod   *corev1.Pod
	owner inject.Owner
	cfg   inject.Config
}

// outcome is the answer to one admission, with what the metric and the log
// line say about it.
type outcome struct {
	response *admissionv1.AdmissionResponse
	result   string // injected, skipped or error
	reason   string
	pod      string // name, or generateName for a pod not yet named
	owner    string // Job, or CronJob/Job
	err      error  // the internal error behind result=error
}

// admit decides one admission request. It always allows the pod: an internal
// error, even a panic, admits it unmutated with a warning (fail-open).
func (h *Handler) admit(ctx context.Context, req *admissionv1.AdmissionRequest) (out outcome) {
	out = outcome{response: &admissionv1.AdmissionResponse{Allowed: true}}
	defer func() {
		if p := recover(); p != nil {
			h.opts.Log.Error("panic in admission", "uid", req.UID, "panic", p, "stack", string(debug.Stack()))
			out = failOpen(out, "panic", fmt.Errorf("internal panic: %v", p))
		}
	}()

	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return failOpen(out, "unexpected-kind", fmt.Errorf("expected a pod, got %s %s (subresource %q)", req.Kind.String(), req.Resource.String(), req.SubResource))
	}
	if req.Operation != admissionv1.Create {
		return failOpen(out, "unexpected-operation", fmt.Errorf("expected CREATE, got %s", req.Operation))
	}
	if len(req.Object.Raw) == 0 {
		return failOpen(out, "no-object", errors.New("request has no object"))
	}
	raw := req.Object.Raw
	var pod corev1.Pod
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &pod); err != nil {
		return failOpen(out, "decode-pod", fmt.Errorf("decode pod: %w", err))
	}
	out.pod = pod.Name
	if out.pod == "" {
		out.pod = pod.GenerateName
	}
	namespace := req.Namespace // pod.Namespace may still be empty at admission
	if namespace == "" {
		namespace = pod.Namespace
	}
	ref := jobRef(&pod)
	if ref == nil {
		return skip(out, "not-a-job-pod", nil)
	}
	out.owner = "Job " + ref.Name
	if namespace == "" {
		return failOpen(out, "no-namespace", errors.New("request names no namespace"))
	}

	lookupCtx, cancel := context.WithTimeout(ctx, h.opts.LookupTimeout)
	owner, err := h.opts.Owners.Lookup(lookupCtx, namespace, *ref)
	cancel()
	if err != nil {
		return failOpen(out, "owner-lookup", fmt.Errorf("look up owner: %w", err))
	}
	if owner.CronJobName != "" {
		out.owner = "CronJob " + owner.CronJobName + "/Job " + owner.JobName
	}

	res := h.mutate(&podInput{pod: &pod, owner: owner, cfg: h.opts.Inject})
	if !res.Injected {
		return skip(out, res.Reason, res.Warnings)
	}
	if res.Pod == nil {
		return failOpen(out, "inject-empty", errors.New("inject reported an injection but returned no pod"))
	}
	patch, err := inject.Patch(&pod, res.Pod)
	if err != nil {
		return failOpen(out, "patch", err)
	}
	out.response.Warnings = append(out.response.Warnings, res.Warnings...)
	out.result, out.reason = resultInjected, orDefault(res.Reason, resultInjected)
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
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
