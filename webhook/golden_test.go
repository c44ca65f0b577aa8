package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.want.json from the current output")

// TestGoldenPatches posts each testdata/golden/NAME.review.json over TLS,
// applies the returned patch to the raw request.object and compares the
// result with NAME.want.json (the pod the API server would store).
func TestGoldenPatches(t *testing.T) {
	cases := []struct {
		name       string
		apiVersion string
		result     string // metric result label
		reason     string
		patched    bool
		warning    string // a warning containing this, when set
	}{
		{"cronjob-unknown-fields", "admission.k8s.io/v1", resultInjected, "injected", true, ""},
		{"job-two-containers", "admission.k8s.io/v1", resultInjected, "injected", true, ""},
		{"v1beta1", "admission.k8s.io/v1beta1", resultInjected, "injected", true, ""},
		{"surrogate-pairs", "admission.k8s.io/v1", resultInjected, "injected", true, ""},
		{"not-enabled", "admission.k8s.io/v1", resultSkipped, "not-enabled", false, ""},
		{"no-command", "admission.k8s.io/v1", resultSkipped, "no-command", false, "no command"},
	}
	h := newTestHandler(goldenOwners)
	url, client := tlsServer(t, h)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := readFile(t, filepath.Join("testdata", "golden", tc.name+".review.json"))
			before := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(tc.result, tc.reason))
			r := admitReview(t, client, url, in)

			if r.APIVersion != tc.apiVersion || r.Kind != "AdmissionReview" {
				t.Errorf("answered as %s %s, want %s AdmissionReview", r.APIVersion, r.Kind, tc.apiVersion)
			}
			var req struct {
				Request struct{ UID string } `json:"request"`
			}
			json.Unmarshal(in, &req)
			if string(r.Response.UID) != req.Request.UID {
				t.Errorf("response uid %q, want the request's %q", r.Response.UID, req.Request.UID)
			}
			if !r.Response.Allowed {
				t.Fatalf("pod denied: %+v", r.Response.Result)
			}
			if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(tc.result, tc.reason)); got != before+1 {
				t.Errorf("admissions_total{result=%q,reason=%q} went %v -> %v, want +1", tc.result, tc.reason, before, got)
			}
			if tc.warning != "" && !strings.Contains(strings.Join(r.Response.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q, want one containing %q", r.Response.Warnings, tc.warning)
			}
			if !tc.patched {
				if r.Response.Patch != nil || r.Response.PatchType != nil {
					t.Fatalf("skipped pod got a patch: %s", r.Response.Patch)
				}
				return
			}
			if r.Response.PatchType == nil || *r.Response.PatchType != "JSONPatch" {
				t.Fatalf("patchType %v, want JSONPatch", r.Response.PatchType)
			}
			raw := rawObject(t, in)
			got, err := applyPatch(raw, r.Response.Patch)
			if err != nil {
				t.Fatalf("patch does not apply to the raw pod: %v\npatch: %s", err, r.Response.Patch)
			}
			wantFile := filepath.Join("testdata", "golden", tc.name+".want.json")
			if *update {
				var buf bytes.Buffer
				json.Indent(&buf, got, "", "  ")
				buf.WriteByte('\n')
				if err := os.WriteFile(wantFile, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			assertSameJSON(t, got, readFile(t, wantFile))
		})
	}
}

// TestUnknownFieldsSurviveThePatch checks, independently of the golden file,
// that fields this binary's k8s.io/api does not know come out of the patch
// exactly as they went in: on the pod spec, on a wrapped container and on an
// init container that the injected one is put in front of.
func TestUnknownFieldsSurviveThePatch(t *testing.T) {
	url, client := tlsServer(t, newTestHandler(goldenOwners))
	in := readFile(t, filepath.Join("testdata", "golden", "cronjob-unknown-fields.review.json"))
	r := admitReview(t, client, url, in)
	if r.Response.Patch == nil {
		t.Fatalf("no patch; warnings %q", r.Response.Warnings)
	}
	got, err := applyPatch(rawObject(t, in), r.Response.Patch)
	if err != nil {
		t.Fatal(err)
	}
	var pod struct {
		Spec struct {
			FuturePodField any `json:"futurePodField"`
			Containers     []map[string]any
			InitContainers []map[string]any
		}
	}
	if err := json.Unmarshal(got, &pod); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"enabled": true, "ratio": 0.25}; !reflect.DeepEqual(pod.Spec.FuturePodField, want) {
		t.Errorf("spec.futurePodField = %v, want %v", pod.Spec.FuturePodField, want)
	}
	if len(pod.Spec.Containers) != 1 || !reflect.DeepEqual(pod.Spec.Containers[0]["futureContainerField"], map[string]any{"level": 3.0, "tags": []any{"a", "b"}}) {
		t.Errorf("containers[0].futureContainerField lost or changed: %v", pod.Spec.Containers)
	}
	if cmd, _ := pod.Spec.Containers[0]["command"].([]any); len(cmd) == 0 || cmd[0] != "/opt/jobcheck/jobcheck" {
		t.Errorf("container not wrapped: command %v", pod.Spec.Containers[0]["command"])
	}
	var setup map[string]any
	for i, c := range pod.Spec.InitContainers {
		if c["name"] == "setup" {
			setup = c
		}
		if c["name"] == "jobcheck-install" {
			if i != 0 {
				t.Errorf("jobcheck-install is init container %d, want 0", i)
			}
			if _, ok := c["futureInitField"]; ok {
				t.Error("the setup container's unknown field moved onto jobcheck-install")
			}
		}
	}
	if setup == nil || setup["futureInitField"] != "keep-me" {
		t.Errorf("init container setup lost futureInitField: %v", setup)
	}
}

// assertSameJSON compares two JSON documents as values.
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		t.Errorf("patched pod differs from the golden file (run with -update to rewrite it after checking):\n%s", gi)
	}
}

// TestSurrogatePairsInjectLikeUTF8: JSON may write a character outside the
// Basic Multilingual Plane as a surrogate-pair escape ("\ud83d\ude80", as
// Python's json.dumps does) or as UTF-8; the API server accepts both, and a
// pod written either way is injected the same: the same patch, the same
// patched pod, the wrapped command holding the character itself.
func TestSurrogatePairsInjectLikeUTF8(t *testing.T) {
	escaped := readFile(t, filepath.Join("testdata", "golden", "surrogate-pairs.review.json"))
	var doc any
	if err := json.Unmarshal(escaped, &doc); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	literal := buf.Bytes()
	if !bytes.Contains(escaped, []byte(`echo \ud83d\ude80 done`)) || !bytes.Contains(literal, []byte("echo \U0001F680 done")) {
		t.Fatal("test inputs do not hold the escaped and the literal rocket")
	}

	url, client := tlsServer(t, newTestHandler(goldenOwners))
	var patches, pods [][]byte
	for _, in := range [][]byte{escaped, literal} {
		r := admitReview(t, client, url, in)
		if r.Response.Patch == nil {
			t.Fatalf("not injected; warnings %q", r.Response.Warnings)
		}
		got, err := applyPatch(rawObject(t, in), r.Response.Patch)
		if err != nil {
			t.Fatalf("patch does not apply: %v\n%s", err, r.Response.Patch)
		}
		var pod corev1.Pod
		if err := json.Unmarshal(got, &pod); err != nil {
			t.Fatal(err)
		}
		if cmd := pod.Spec.Containers[0].Command; len(cmd) == 0 || cmd[len(cmd)-1] != "echo \U0001F680 done" {
			t.Errorf("wrapped command %q, want it to end with the original %q", cmd, "echo \U0001F680 done")
		}
		patches, pods = append(patches, r.Response.Patch), append(pods, got)
	}
	if !bytes.Equal(patches[0], patches[1]) {
		t.Errorf("patches differ:\nescaped: %s\nliteral: %s", patches[0], patches[1])
	}
	assertSameJSON(t, pods[0], pods[1])
}
