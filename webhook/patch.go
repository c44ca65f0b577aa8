package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	sigsjson "sigs.k8s.io/json"
)

// podSchema tells the strategic merge which lists are keyed by what
// (containers by name, volumes by name, ...). Built once: it is reflection.
var podSchema = func() strategicpatch.LookupPatchMeta {
	m, err := strategicpatch.NewPatchMetaFromStruct(&corev1.Pod{})
	if err != nil {
		panic(fmt.Sprintf("pod patch schema: %v", err)) // a programming error, found by any test
	}
	return m
}()

// errPatchMismatch means the merged pod does not decode to the pod inject
// produced; the pod is then admitted unmutated rather than mutated wrongly.
var errPatchMismatch = errors.New("merged pod differs from the injected pod")

// podPatch returns the JSON patch (RFC 6902) that turns raw, the pod exactly
// as the API server sent it, into the injected pod.
//
// Diffing raw against the injected pod's JSON directly would remove every
// field this binary's k8s.io/api does not know (a newer API server's fields)
// and element-wise array diffs would move such fields between list items.
// So inject's change is first expressed as a strategic merge patch between
// two documents of the same encoder (the decoded original and the injected
// pod), which names list items by their keys (containers by name, ...);
// that patch is merged into raw, leaving every other byte of raw alone; and
// the JSON patch is the difference between raw and that merge
// (gomodules.xyz/jsonpatch/v2). The merge is checked to decode to exactly the
// injected pod.
func podPatch(raw []byte, original, injected *corev1.Pod) ([]byte, error) {
	before, err := json.Marshal(original)
	if err != nil {
		return nil, fmt.Errorf("encode original pod: %w", err)
	}
	after, err := json.Marshal(injected)
	if err != nil {
		return nil, fmt.Errorf("encode injected pod: %w", err)
	}
	change, err := strategicpatch.CreateTwoWayMergePatchUsingLookupPatchMeta(before, after, podSchema)
	if err != nil {
		return nil, fmt.Errorf("diff injected pod: %w", err)
	}
	merged, err := strategicpatch.StrategicMergePatchUsingLookupPatchMeta(raw, change, podSchema)
	if err != nil {
		return nil, fmt.Errorf("merge injection into the pod: %w", err)
	}
	var check corev1.Pod
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(merged, &check); err != nil {
		return nil, fmt.Errorf("decode merged pod: %w", err)
	}
	got, err := json.Marshal(&check)
	if err != nil {
		return nil, fmt.Errorf("encode merged pod: %w", err)
	}
	if !bytes.Equal(got, after) {
		return nil, errPatchMismatch
	}
	ops, err := jsonpatch.CreatePatch(raw, merged)
	if err != nil {
		return nil, fmt.Errorf("create JSON patch: %w", err)
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encode JSON patch: %w", err)
	}
	return patch, nil
}
