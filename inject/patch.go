package inject

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Patch returns the JSON patch (RFC 6902) that turns original, the pod as it
// was decoded from the API server's request or a manifest, into injected, the
// result of Pod. The webhook answers with it; the offline command applies it
// to the document it read.
//
// It writes the operations straight from what Pod adds, instead of
// encoding both pods and diffing them: the volume, the installer at the
// front of the init containers, the agent image's pull secrets, each
// wrapped container's command, args,
// mount, env, liveness probe and preStop hook, the label and the
// annotation. Each operation adds at a path inside the pod, so it applies
// to the raw document with every field this build's k8s.io/api does not
// know (a newer API server's, a manifest's) left as it was. Lists Pod
// appends to are appended to ("/-"), and the one list it grows at the front
// gets its new items at index 0, so no existing item is rewritten.
//
// The original document must have a metadata object (every pod does; the
// offline command adds an empty one to a pod template without).
// Patch returns an error when injected is not shaped as Pod makes it from
// original (a container added, removed or renamed, an item removed).
func Patch(original, injected *corev1.Pod) ([]byte, error) {
	p := patch{buf: make([]byte, 0, 1024+1024*len(injected.Spec.Containers))}
	p.buf = append(p.buf, '[')
	p.object("/metadata/labels", original.Labels, injected.Labels)
	p.object("/metadata/annotations", original.Annotations, injected.Annotations)
	if err := appended(&p, "/spec/volumes", original.Spec.Volumes, injected.Spec.Volumes, sameVolume); err != nil {
		return nil, err
	}
	if err := appended(&p, "/spec/imagePullSecrets", original.Spec.ImagePullSecrets, injected.Spec.ImagePullSecrets, samePullSecret); err != nil {
		return nil, err
	}
	if err := p.prepended("/spec/initContainers", original.Spec.InitContainers, injected.Spec.InitContainers); err != nil {
		return nil, err
	}
	if len(original.Spec.Containers) != len(injected.Spec.Containers) {
		return nil, fmt.Errorf("json patch: %d containers injected from %d", len(injected.Spec.Containers), len(original.Spec.Containers))
	}
	for i := range injected.Spec.Containers {
		if err := p.container(i, &original.Spec.Containers[i], &injected.Spec.Containers[i]); err != nil {
			return nil, err
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return append(p.buf, ']'), nil
}

// patch accumulates the encoded operations.
type patch struct {
	buf []byte
	n   int   // operations written
	err error // the first value that did not encode
}

// add writes an "add" operation of the JSON of value at path (a JSON
// pointer, its tokens already escaped).
func (p *patch) add(path string, value any) {
	v, err := json.Marshal(value)
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("json patch: encode %s: %w", path, err)
		}
		return
	}
	if p.n > 0 {
		p.buf = append(p.buf, ',')
	}
	p.n++
	p.buf = append(p.buf, `{"op":"add","path":`...)
	p.buf = appendString(p.buf, path)
	p.buf = append(p.buf, `,"value":`...)
	p.buf = append(p.buf, v...)
	p.buf = append(p.buf, '}')
}

// object adds the keys of after that before lacks or holds with another
// value (labels, annotations): the whole object when before is empty.
func (p *patch) object(path string, before, after map[string]string) {
	if len(before) == 0 {
		if len(after) > 0 {
			p.add(path, after)
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if v, ok := before[k]; !ok || v != after[k] {
			p.add(path+"/"+pointerToken(k), after[k])
		}
	}
}

// appended adds the items after has beyond before (the whole list when
// before is empty). same checks that the first len(before) items of after
// are before's, cheaply.
func appended[T any](p *patch, path string, before, after []T, same func(a, b *T) bool) error {
	if len(after) < len(before) {
		return fmt.Errorf("json patch: %s: %d items injected from %d", path, len(after), len(before))
	}
	for i := range before {
		if !same(&before[i], &after[i]) {
			return fmt.Errorf("json patch: %s/%d changed by injection", path, i)
		}
	}
	switch {
	case len(after) == len(before):
	case len(before) == 0:
		p.add(path, after)
	default:
		for i := len(before); i < len(after); i++ {
			p.add(path+"/-", after[i])
		}
	}
	return nil
}

// prepended adds the containers after has in front of before's.
func (p *patch) prepended(path string, before, after []corev1.Container) error {
	front := len(after) - len(before)
	if front < 0 {
		return fmt.Errorf("json patch: %s: %d items injected from %d", path, len(after), len(before))
	}
	for i := range before {
		if after[front+i].Name != before[i].Name {
			return fmt.Errorf("json patch: %s/%d changed by injection", path, i)
		}
	}
	switch {
	case front == 0:
	case len(before) == 0:
		p.add(path, after)
	default:
		for i := front - 1; i >= 0; i-- {
			p.add(path+"/0", after[i])
		}
	}
	return nil
}

// container adds what wrapping changed in container i.
func (p *patch) container(i int, before, after *corev1.Container) error {
	path := "/spec/containers/" + strconv.Itoa(i)
	if before.Name != after.Name {
		return fmt.Errorf("json patch: %s: container %q injected from %q", path, after.Name, before.Name)
	}
	if !slices.Equal(before.Command, after.Command) {
		p.add(path+"/command", after.Command)
	}
	if !slices.Equal(before.Args, after.Args) {
		p.add(path+"/args", after.Args)
	}
	if err := appended(p, path+"/volumeMounts", before.VolumeMounts, after.VolumeMounts, sameMount); err != nil {
		return err
	}
	if err := appended(p, path+"/env", before.Env, after.Env, sameEnv); err != nil {
		return err
	}
	if before.LivenessProbe == nil && after.LivenessProbe != nil {
		p.add(path+"/livenessProbe", after.LivenessProbe)
	}
	switch {
	case after.Lifecycle == nil:
	case before.Lifecycle == nil:
		p.add(path+"/lifecycle", after.Lifecycle)
	case before.Lifecycle.PreStop == nil && after.Lifecycle.PreStop != nil:
		p.add(path+"/lifecycle/preStop", after.Lifecycle.PreStop)
	}
	return nil
}

func sameVolume(a, b *corev1.Volume) bool                   { return a.Name == b.Name }
func samePullSecret(a, b *corev1.LocalObjectReference) bool { return a.Name == b.Name }
func sameMount(a, b *corev1.VolumeMount) bool               { return a.Name == b.Name && a.MountPath == b.MountPath }
func sameEnv(a, b *corev1.EnvVar) bool                      { return a.Name == b.Name && a.Value == b.Value }

// pointerToken escapes a key as a JSON pointer token (RFC 6901).
func pointerToken(k string) string {
	if !strings.ContainsAny(k, "~/") {
		return k
	}
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// appendString appends s as a JSON string.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
