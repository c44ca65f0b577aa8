package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/client-go/tools/record"
	sigsjson "sigs.k8s.io/json"
)

// FuzzMutate feeds arbitrary bodies to the handler (no network: the handler
// is the same). Properties: it never panics, not even a recovered panic
// (which would show as a "(panic)" warning); a 200 answer always allows the
// pod; and every patch applies cleanly to the request's object. In `go test`
// only the seed corpus runs (testdata/golden and testdata/fuzz).
func FuzzMutate(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.review.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		var compact bytes.Buffer
		json.Compact(&compact, b)
		f.Add(compact.Bytes())
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"a","object":{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"db-migrate","uid":"x","controller":true}]},"spec":{"containers":[{"name":"a","command":["x"]},{"name":"a","command":["y"]}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"a","object":{"metadata":{"annotations":{"jobcheck.io/enabled":"true"},"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"report","controller":true}]},"spec":{"initContainers":[{"name":"jobcheck-install"}],"containers":[{"name":"c","command":["x"],"env":[{"name":"A"},{"name":"A"}]}]}}}}`))

	owners := stubOwners{}
	for name, o := range goldenOwners {
		o.JobAnnotations = map[string]string{"jobcheck.io/enabled": "true"}
		owners[name] = o
	}
	h := newTestHandler(owners)
	h.opts.Events = &record.FakeRecorder{} // the skips' reporting runs too (and discards)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			if rec.Code < 400 || rec.Code >= 500 {
				t.Fatalf("status %d, want 200 or 4xx", rec.Code)
			}
			return
		}
		var r admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Response == nil {
			t.Fatalf("200 answer is not an AdmissionReview with a response: %v: %s", err, rec.Body.Bytes())
		}
		if !r.Response.Allowed {
			t.Fatal("pod denied")
		}
		for _, w := range r.Response.Warnings {
			if strings.Contains(w, "(panic)") {
				t.Fatalf("recovered panic: %s", w)
			}
		}
		if r.Response.Patch == nil {
			return
		}
		var in struct {
			Request struct {
				Object json.RawMessage `json:"object"`
			} `json:"request"`
		}
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &in); err != nil {
			t.Fatalf("answered a patch to a body that does not decode: %v", err)
		}
		if _, err := applyPatch(in.Request.Object, r.Response.Patch); err != nil {
			t.Fatalf("patch does not apply to the object: %v\nobject: %s\npatch: %s", err, in.Request.Object, r.Response.Patch)
		}
	})
}
