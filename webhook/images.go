package webhook

import (
	"context"
	"fmt"
	"runtime/debug"

	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/inject"
)

// images looks up what the images of pod's containers without a command run
// (inject.NeedsImages), within the image budget, with the credentials the
// kubelet would pull them with: the pod's service account and its
// imagePullSecrets. Every image asked for is in the answer: one the lookup
// did not answer for in time has its Err set, so its container is left
// unwrapped with that reason shown, never the pod denied. It is nil when no
// image is needed or no lookup is configured.
func (h *Handler) images(ctx context.Context, pod *corev1.Pod, namespace string, owner inject.Owner) inject.Images {
	if h.opts.Images == nil {
		return nil
	}
	need := inject.NeedsImages(pod, owner, h.opts.Inject)
	if len(need) == 0 {
		return nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default" // what the API server's ServiceAccount admission sets
	}
	var secrets []string
	for _, s := range pod.Spec.ImagePullSecrets {
		if s.Name != "" {
			secrets = append(secrets, s.Name)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, h.opts.ImageBudget)
	defer cancel()
	// Resolve promises to return by the deadline; the admission does not
	// depend on it: past the budget it goes on without the answer, which
	// the lookup may still use to fill its cache.
	answer := make(chan inject.Images, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				h.opts.Log.Error("panic in image lookup", "namespace", namespace, "images", need, "panic", p, "stack", string(debug.Stack()))
				answer <- nil
			}
		}()
		answer <- h.opts.Images.Resolve(ctx, namespace, sa, secrets, need)
	}()
	var got inject.Images
	missing := "the image lookup gave no answer for it"
	select {
	case got = <-answer:
	case <-ctx.Done():
		// the budget, or the admission's own deadline when that came first
		missing = fmt.Sprintf("the image lookup did not answer in time (its budget: %s)", h.opts.ImageBudget)
	}
	out := make(inject.Images, len(need))
	for _, img := range need {
		i, ok := got[img]
		if !ok {
			i = inject.Image{Err: missing}
		}
		out[img] = i
	}
	return out
}
