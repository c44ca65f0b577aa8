package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
	corev1 "k8s.io/api/core/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// resolver answers what the images of a pod template's containers without
// command run (imageconfig.Lookup.Resolve); pullSecrets are the template's
// imagePullSecrets.
type resolver func(namespace, serviceAccount string, pullSecrets, images []string) inject.Images

// injectManifests injects jobcheck into the pod templates of the Jobs and
// CronJobs (and the annotated bare Pods) of a YAML or JSON stream of
// documents, and returns the stream as YAML. A document that is not changed
// is copied byte for byte (but for line breaks, made LF), comments and a
// missing final line break included; a changed one is re-encoded.
// resolve, when not nil, is asked what the images of containers without
// command run. warn receives each warning, prefixed with the document's
// kind/name.
func injectManifests(in io.Reader, cfg inject.Config, resolve resolver, warn func(string)) ([]byte, error) {
	return (&injector{cfg: cfg, resolve: resolve, warn: warn}).manifests(in)
}

// injector is one run of the offline injector.
type injector struct {
	cfg     inject.Config
	resolve resolver // nil: images are not looked up
	warn    func(string)

	// results holds the outcome of every pod (template) looked at, in order.
	results []inject.Result
}

// manifests is injectManifests.
func (j *injector) manifests(in io.Reader) ([]byte, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	// Line breaks become LF, as YAML reads them (CRLF, and a lone CR, are
	// line breaks too): the document reader would otherwise drop some CRs
	// and not others, and the output would not be its own fixed point.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	var out bytes.Buffer
	// The reader ends every document with a line break; untouched is the
	// last document when it was written unchanged, so that a missing final
	// line break of the input stays missing.
	var untouched []byte
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			if untouched != nil && !bytes.HasSuffix(data, []byte("\n")) && bytes.HasSuffix(data, untouched[:len(untouched)-1]) {
				out.Truncate(out.Len() - 1)
			}
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		untouched = nil
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		changed, err := j.document(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if changed != nil {
			doc = changed
		}
		if changed == nil {
			untouched = doc
		}
		if out.Len() > 0 {
			out.WriteString("---\n")
		}
		out.Write(doc)
	}
}

// document returns doc as YAML with jobcheck injected, or nil when
// nothing in it changed.
func (j *injector) document(doc []byte) ([]byte, error) {
	obj, err := decodeDocument(doc)
	if err != nil {
		return nil, err
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return nil, nil // a comment-only document, a scalar: not ours
	}
	changed, err := j.object(m)
	if err != nil || !changed {
		return nil, err
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", describe(m), err)
	}
	return yaml.JSONToYAML(js)
}

// decodeDocument decodes a YAML or JSON document, numbers kept exact. A
// document that is JSON is decoded as JSON, as kubectl does: YAML has no
// UTF-16 surrogate pairs, so the \ud83d\ude80 escapes JSON encoders write
// for characters outside the Basic Multilingual Plane (Python's json.dumps
// for an emoji) would be refused.
func decodeDocument(doc []byte) (any, error) {
	if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' {
		if obj, err := decodeJSON(t); err == nil {
			return obj, nil
		}
		// not JSON: a YAML flow mapping such as {kind: Job}
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	return decodeJSON(js)
}

// object injects into one decoded object in place and reports whether it
// changed: a Job's or CronJob's pod template, a Pod, or a List's items.
func (j *injector) object(m map[string]any) (bool, error) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	batch := strings.HasPrefix(apiVersion, "batch/")
	meta := mapAt(m, "metadata")
	var owner inject.Owner
	var path []string // of the pod template (nil: the object itself)
	switch {
	case strings.HasSuffix(kind, "List"):
		return j.items(m)
	case batch && kind == "Job":
		owner = inject.Owner{JobName: objectName(meta), JobAnnotations: stringMap(meta, "annotations")}
		path = []string{"spec", "template"}
	case batch && kind == "CronJob":
		spec := mapAt(m, "spec")
		owner = inject.Owner{
			CronJobName:        objectName(meta),
			CronJobAnnotations: stringMap(meta, "annotations"),
			JobAnnotations:     stringMap(mapAt(spec, "jobTemplate", "metadata"), "annotations"),
			Schedule:           stringAt(spec, "schedule"),
			TimeZone:           stringAt(spec, "timeZone"),
		}
		path = []string{"spec", "jobTemplate", "spec", "template"}
	case apiVersion == "v1" && kind == "Pod":
	default:
		return false, nil
	}
	target := m
	if path != nil {
		target = mapAt(m, path...)
		if target == nil {
			j.warn(fmt.Sprintf("%s: no %s: passed through", describe(m), strings.Join(path, ".")))
			return false, nil
		}
	}
	res, err := j.pod(target, owner, objectNamespace(m))
	if err != nil {
		return false, fmt.Errorf("%s: %s: %w", describe(m), strings.Join(append([]string{"pod"}, path...), "."), err)
	}
	j.results = append(j.results, res)
	for _, w := range res.Warnings {
		j.warn(describe(m) + ": " + w)
	}
	return res.Injected, nil
}

// items injects into each item of a List.
func (j *injector) items(m map[string]any) (bool, error) {
	items, _ := m["items"].([]any)
	changed := false
	for i, item := range items {
		im, ok := item.(map[string]any)
		if !ok {
			continue
		}
		c, err := j.object(im)
		if err != nil {
			return false, fmt.Errorf("%s item %d: %w", describe(m), i, err)
		}
		changed = changed || c
	}
	return changed, nil
}

// pod injects into raw, a decoded pod or pod template ("metadata" and
// "spec") of an object in namespace, in place. The mutation is computed on
// the typed pod and applied to raw as a JSON patch, as the webhook does, so
// fields the vendored k8s.io/api does not know survive.
func (j *injector) pod(raw map[string]any, owner inject.Owner, namespace string) (inject.Result, error) {
	rawJSON, err := json.Marshal(raw)
	if err != nil {
		return inject.Result{}, err
	}
	var pod corev1.Pod
	// Case-sensitive, as the API server decodes: a misspelt "Command" is an
	// unknown field there, not the container's command.
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(rawJSON, &pod); err != nil {
		return inject.Result{}, fmt.Errorf("not a pod template: %w", err)
	}
	var images inject.Images
	if needed := inject.NeedsImages(&pod, owner, j.cfg); len(needed) > 0 && j.resolve != nil {
		var secrets []string
		for _, s := range pod.Spec.ImagePullSecrets {
			secrets = append(secrets, s.Name)
		}
		images = j.resolve(namespace, pod.Spec.ServiceAccountName, secrets, needed)
	}
	res := inject.Pod(&pod, owner, images, j.cfg)
	if !res.Injected {
		return res, nil
	}
	opsJSON, err := inject.Patch(&pod, res.Pod)
	if err != nil {
		return res, err
	}
	patch, err := jsonpatch.DecodePatch(opsJSON)
	if err != nil {
		return res, fmt.Errorf("decode patch: %w", err)
	}
	if _, ok := raw["metadata"].(map[string]any); !ok {
		// the typed pod always has metadata; the patch adds the marker in it
		raw["metadata"] = map[string]any{}
		if rawJSON, err = json.Marshal(raw); err != nil {
			return res, err
		}
	}
	patched, err := patch.Apply(rawJSON)
	if err != nil {
		return res, fmt.Errorf("apply patch: %w", err)
	}
	obj, err := decodeJSON(patched)
	if err != nil {
		return res, err
	}
	clear(raw)
	for k, v := range obj.(map[string]any) {
		raw[k] = v
	}
	return res, nil
}

// decodeJSON decodes js keeping numbers exact.
func decodeJSON(js []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// mapAt returns the object at path below m, or nil.
func mapAt(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

func stringAt(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// stringMap returns the string values of the object m[key] (annotations).
func stringMap(m map[string]any, key string) map[string]string {
	src, _ := m[key].(map[string]any)
	if src == nil {
		return nil
	}
	out := make(map[string]string, len(src))
	for k, v := range src {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// objectName is the workload name of an object's metadata
// (contract.WorkloadName: its generateName prefix, else its name).
func objectName(meta map[string]any) string {
	return contract.WorkloadName(stringAt(meta, "name"), stringAt(meta, "generateName"))
}

// objectNamespace is the object's metadata.namespace ("" when not set).
func objectNamespace(m map[string]any) string {
	return stringAt(mapAt(m, "metadata"), "namespace")
}

// describe names an object as kind/name for messages.
func describe(m map[string]any) string {
	kind, _ := m["kind"].(string)
	if kind == "" {
		kind = "object"
	}
	if name := objectName(mapAt(m, "metadata")); name != "" {
		return kind + "/" + name
	}
	return kind
}
