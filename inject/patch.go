package inject

import (
	"encoding/json"
	"fmt"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// Patch returns the JSON patch (RFC 6902) that turns original, the pod as it
// was decoded from the API server's request or a manifest, into injected, the
// result of Pod. The webhook answers with it; the offline command applies it
// to the document it read.
//
// The diff (gomodules.xyz/jsonpatch/v2) is taken between two documents of
// the same encoder, the decoded original and the injected pod, not between
// the raw request and the injected pod: diffing the raw bytes would remove
// every field this binary's k8s.io/api does not know (a newer API server's
// fields). Since both sides lack such fields, the patch only touches what
// inject changed, and applies to the raw pod with its unknown fields intact.
//
// jsonpatch diffs lists index by index, which is right for everything inject
// appends to (containers' command, env and mounts, volumes) but not for the
// one list Pod grows at the front: the installer goes first among the init
// containers. Diffed index by index, every existing init container would be
// rewritten one place down from its typed copy, losing its unknown fields.
// So the init containers Pod put in front are patched in as "add"
// operations at index 0, and the rest of the pod is diffed as usual.
func Patch(original, injected *corev1.Pod) ([]byte, error) {
	var ops []jsonpatch.Operation
	rest := injected
	if front := prepended(original.Spec.InitContainers, injected.Spec.InitContainers); front > 0 {
		if len(original.Spec.InitContainers) == 0 {
			ops = append(ops, jsonpatch.NewOperation("add", "/spec/initContainers", injected.Spec.InitContainers))
		} else {
			for i := front - 1; i >= 0; i-- {
				ops = append(ops, jsonpatch.NewOperation("add", "/spec/initContainers/0", injected.Spec.InitContainers[i]))
			}
		}
		shallow := *injected
		shallow.Spec.InitContainers = original.Spec.InitContainers
		rest = &shallow
	}
	before, err := json.Marshal(original)
	if err != nil {
		return nil, fmt.Errorf("encode original pod: %w", err)
	}
	after, err := json.Marshal(rest)
	if err != nil {
		return nil, fmt.Errorf("encode injected pod: %w", err)
	}
	diff, err := jsonpatch.CreatePatch(before, after)
	if err != nil {
		return nil, fmt.Errorf("create JSON patch: %w", err)
	}
	patch, err := json.Marshal(append(ops, diff...))
	if err != nil {
		return nil, fmt.Errorf("encode JSON patch: %w", err)
	}
	return patch, nil
}

// prepended is how many init containers were put in front of the original
// ones: after ends with the original list, matched by name (Pod never
// changes an existing init container). It is 0 when after is not so shaped.
func prepended(before, after []corev1.Container) int {
	front := len(after) - len(before)
	if front <= 0 {
		return 0
	}
	for i := range before {
		if after[front+i].Name != before[i].Name {
			return 0
		}
	}
	return front
}
