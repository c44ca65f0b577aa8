package webhook

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/inject"
)

// TestPatchReproducesTheInjectedPod: for pods whose lists have items with
// the same key (duplicate env names are legal; a port number over TCP and
// UDP; one volume mounted twice), where a keyed merge could go wrong, the
// patched raw pod decodes to exactly what inject.Pod returns.
func TestPatchReproducesTheInjectedPod(t *testing.T) {
	owner := inject.Owner{JobName: "report", JobAnnotations: map[string]string{"jobcheck.io/enabled": "true"}}
	const meta = `"metadata":{"generateName":"report-","ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"report","controller":true}]}`
	cases := map[string]string{
		"duplicate env names":         `{` + meta + `,"spec":{"containers":[{"name":"c","command":["x"],"env":[{"name":"A","value":"1"},{"name":"A","value":"2"}]}]}}`,
		"same port, two protocols":    `{` + meta + `,"spec":{"containers":[{"name":"c","command":["x"],"ports":[{"containerPort":53,"protocol":"TCP"},{"containerPort":53,"protocol":"UDP"}]}]}}`,
		"one volume mounted twice":    `{` + meta + `,"spec":{"volumes":[{"name":"v","emptyDir":{}}],"containers":[{"name":"c","command":["x"],"volumeMounts":[{"name":"v","mountPath":"/a"},{"name":"v","mountPath":"/b","subPath":"x"}]}]}}`,
		"init and sidecar containers": `{` + meta + `,"spec":{"initContainers":[{"name":"a","command":["a"]},{"name":"side","command":["s"],"restartPolicy":"Always"}],"containers":[{"name":"c","command":["x"]}]}}`,
	}
	golden := readFile(t, filepath.Join("testdata", "golden", "job-two-containers.review.json"))
	cases["golden job-two-containers"] = string(rawObject(t, golden))
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			var pod corev1.Pod
			if err := json.Unmarshal([]byte(raw), &pod); err != nil {
				t.Fatal(err)
			}
			o := owner
			if name == "golden job-two-containers" {
				o = inject.Owner{JobName: "db-migrate"}
			}
			res := inject.Pod(&pod, o, nil, testConfig())
			if !res.Injected {
				t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
			}
			patch, err := inject.Patch(&pod, res.Pod)
			if err != nil {
				t.Fatal(err)
			}
			patched, err := applyPatch([]byte(raw), patch)
			if err != nil {
				t.Fatalf("patch does not apply: %v\n%s", err, patch)
			}
			var got corev1.Pod
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(res.Pod)
			have, _ := json.Marshal(&got)
			if d := cmp.Diff(string(want), string(have)); d != "" {
				t.Errorf("patched pod differs from the injected pod (-injected +patched):\n%s", d)
			}
		})
	}
}
