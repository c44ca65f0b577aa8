package inject

import (
	"encoding/json"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// checkPatch reports how Patch(original, injected) fails its oracle: applied
// to original's JSON it must give exactly injected's JSON, the document a
// generic diff of the two (gomodules.xyz/jsonpatch/v2 CreatePatch) gives.
// It returns "" when it holds.
func checkPatch(original, injected *corev1.Pod) string {
	before, err := json.Marshal(original)
	if err != nil {
		return "encode original: " + err.Error()
	}
	after, err := json.Marshal(injected)
	if err != nil {
		return "encode injected: " + err.Error()
	}
	ops, err := Patch(original, injected)
	if err != nil {
		return "Patch: " + err.Error()
	}
	got, err := applyPatch(before, ops)
	if err != nil {
		return "apply: " + err.Error() + "\n" + string(ops)
	}
	diff, err := jsonpatch.CreatePatch(before, after)
	if err != nil {
		return "oracle CreatePatch: " + err.Error()
	}
	oracleOps, _ := json.Marshal(diff)
	want, err := applyPatch(before, oracleOps)
	if err != nil {
		return "oracle apply: " + err.Error()
	}
	if d := cmp.Diff(decode(want), decode(after)); d != "" {
		return "oracle does not reproduce the injected pod:\n" + d
	}
	if d := cmp.Diff(decode(want), decode(got)); d != "" {
		return "patched pod differs from the injected pod (-injected +patched):\n" + d + "\npatch: " + string(ops)
	}
	return ""
}

// assertPatch fails t when checkPatch does.
func assertPatch(t *testing.T, original, injected *corev1.Pod) {
	t.Helper()
	if msg := checkPatch(original, injected); msg != "" {
		t.Error(msg)
	}
}

func applyPatch(doc, ops []byte) ([]byte, error) {
	p, err := jsonpatchapply.DecodePatch(ops)
	if err != nil {
		return nil, err
	}
	return p.Apply(doc)
}

func decode(js []byte) any {
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return "invalid JSON: " + err.Error()
	}
	return v
}

// TestPatchKeepsUnknownFields: applied to the raw pod, the patch leaves every
// field this k8s.io/api does not know where it was, in the pod, its metadata,
// its spec, each container and init container, and touches nothing else.
func TestPatchKeepsUnknownFields(t *testing.T) {
	raw := `{
	  "apiVersion": "v1", "kind": "Pod", "futurePodField": {"a": 1},
	  "metadata": {"generateName": "db-migrate-", "namespace": "team-a", "futureMetaField": "m",
	    "labels": {"job-name": "db-migrate", "a/b~c": "x"},
	    "annotations": {"jobcheck.io/enabled": "true"}},
	  "spec": {
	    "futureSpecField": [1, 2],
	    "restartPolicy": "Never",
	    "initContainers": [{"name": "fetch", "image": "fetch:1", "command": ["/fetch"], "futureInit": true}],
	    "containers": [
	      {"name": "migrate", "image": "migrate:1", "command": ["/migrate"], "futureContainer": 7,
	       "env": [{"name": "A", "value": "1", "futureEnv": "e"}],
	       "lifecycle": {"postStart": {"exec": {"command": ["/warm"]}}, "futureHook": 1}},
	      {"name": "entry", "image": "entry:1", "args": ["--once"], "futureContainer": 8}
	    ],
	    "volumes": [{"name": "data", "emptyDir": {}, "futureVolume": "v"}]
	  }
	}`
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(raw), &pod); err != nil {
		t.Fatal(err)
	}
	res := Pod(&pod, Owner{JobName: "db-migrate"}, Images{"entry:1": {Entrypoint: []string{"/entry"}, Cmd: []string{"serve"}}}, testConfig())
	if !res.Injected || len(res.Skipped) != 0 {
		t.Fatalf("Pod = injected %v reason %q warnings %q", res.Injected, res.Reason, res.Warnings)
	}
	ops, err := Patch(&pod, res.Pod)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := applyPatch([]byte(raw), ops)
	if err != nil {
		t.Fatalf("patch does not apply to the raw pod: %v\n%s", err, ops)
	}
	for _, field := range []string{`"futurePodField":{"a":1}`, `"futureMetaField":"m"`, `"futureSpecField":[1,2]`,
		`"futureInit":true`, `"futureContainer":7`, `"futureContainer":8`, `"futureEnv":"e"`, `"futureHook":1`, `"futureVolume":"v"`} {
		if !strings.Contains(string(patched), field) {
			t.Errorf("unknown field %s lost:\n%s", field, patched)
		}
	}
	var got corev1.Pod
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(res.Pod, &got); d != "" {
		t.Errorf("patched raw pod decodes to another pod than the injected one (-injected +patched):\n%s", d)
	}
	if got.Labels["a/b~c"] != "x" || got.Labels["jobcheck.io/injected"] != "true" {
		t.Errorf("labels = %v, want the user's kept and the injected label added", got.Labels)
	}
}

// TestPatchRefusesForeignShapes: Patch says so when injected is not what
// Pod makes of original, instead of a patch that would not reproduce it.
func TestPatchRefusesForeignShapes(t *testing.T) {
	base := jobPod("db-migrate", container("a", "/a"), container("b", "/b"))
	for name, change := range map[string]func(p *corev1.Pod){
		"container removed":     func(p *corev1.Pod) { p.Spec.Containers = p.Spec.Containers[:1] },
		"container renamed":     func(p *corev1.Pod) { p.Spec.Containers[1].Name = "c" },
		"env removed":           func(p *corev1.Pod) { p.Spec.Containers[0].Env = nil },
		"env changed":           func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "debug" },
		"volume removed":        func(p *corev1.Pod) { p.Spec.Volumes = nil },
		"init container edited": func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: "x"}} },
	} {
		t.Run(name, func(t *testing.T) {
			orig := base.DeepCopy()
			if name == "init container edited" {
				orig.Spec.InitContainers = []corev1.Container{{Name: "fetch"}}
			}
			injected := orig.DeepCopy()
			change(injected)
			if ops, err := Patch(orig, injected); err == nil {
				t.Errorf("Patch = %s, want an error", ops)
			}
		})
	}
}
