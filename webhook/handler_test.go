package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/inject"
)

func TestMalformedRequestsGet4xx(t *testing.T) {
	valid := readFile(t, filepath.Join("testdata", "golden", "job-two-containers.review.json"))
	h := newTestHandler(goldenOwners)
	url, client := tlsServer(t, h)
	cases := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		status      int
		message     string
	}{
		{"GET", http.MethodGet, "application/json", nil, http.StatusMethodNotAllowed, "method GET not allowed"},
		{"PUT", http.MethodPut, "application/json", valid, http.StatusMethodNotAllowed, "method PUT not allowed"},
		{"no content type", http.MethodPost, "", valid, http.StatusUnsupportedMediaType, `content type "" not supported`},
		{"yaml", http.MethodPost, "application/yaml", valid, http.StatusUnsupportedMediaType, `content type "application/yaml" not supported`},
		{"oversize", http.MethodPost, "application/json", bytes.Repeat([]byte(" "), MaxBodyBytes+1), http.StatusRequestEntityTooLarge, "body larger than"},
		{"bad JSON", http.MethodPost, "application/json", []byte(`{"kind": "AdmissionReview",`), http.StatusBadRequest, "not a JSON object"},
		{"empty body", http.MethodPost, "application/json", nil, http.StatusBadRequest, "not a JSON object"},
		{"a pod, not a review", http.MethodPost, "application/json", []byte(`{"apiVersion":"v1","kind":"Pod"}`), http.StatusBadRequest, `not an AdmissionReview: got apiVersion "v1" kind "Pod"`},
		{"unknown review version", http.MethodPost, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview"}`), http.StatusBadRequest, "not an AdmissionReview"},
		{"no request", http.MethodPost, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), http.StatusBadRequest, "has no request"},
		{"no uid", http.MethodPost, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`), http.StatusBadRequest, "no uid"},
		{"request of the wrong type", http.MethodPost, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]}`), http.StatusBadRequest, "decode AdmissionReview"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(resultError, "bad-request"))
			req, err := http.NewRequest(tc.method, url+"/mutate", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body.String())
			}
			if !strings.Contains(body.String(), tc.message) {
				t.Errorf("message %q, want one containing %q", body.String(), tc.message)
			}
			if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(resultError, "bad-request")); got != before+1 {
				t.Errorf("bad-request count went %v -> %v, want +1", before, got)
			}
		})
	}
}

// TestInternalErrorsAdmit checks fail-open: whatever goes wrong inside, the
// pod is allowed, unpatched, with a warning, and the error is counted.
func TestInternalErrorsAdmit(t *testing.T) {
	jobPod := readFile(t, filepath.Join("testdata", "golden", "job-two-containers.review.json"))
	cases := []struct {
		name    string
		owners  Owners
		mutate  func(*podInput) inject.Result
		review  []byte
		reason  string
		warning string
	}{
		{
			name: "owner lookup fails",
			owners: ownersFunc(func(context.Context, string, metav1.OwnerReference) (inject.Owner, error) {
				return inject.Owner{}, errors.New("connection refused")
			}),
			review: jobPod, reason: "owner-lookup", warning: "connection refused",
		},
		{
			name: "owner lookup times out",
			owners: ownersFunc(func(ctx context.Context, _ string, _ metav1.OwnerReference) (inject.Owner, error) {
				<-ctx.Done() // a hung API server: only the handler's bound ends this
				return inject.Owner{}, ctx.Err()
			}),
			review: jobPod, reason: "owner-lookup", warning: "context deadline exceeded",
		},
		{
			name: "owner not found", owners: stubOwners{},
			review: jobPod, reason: "owner-lookup", warning: "job team-a/db-migrate not found",
		},
		{
			name: "panic in inject", owners: goldenOwners,
			mutate: func(*podInput) inject.Result { panic("boom") },
			review: jobPod, reason: "panic", warning: "internal panic: boom",
		},
		{
			name: "inject returns nothing", owners: goldenOwners,
			mutate: func(*podInput) inject.Result { return inject.Result{Injected: true} },
			review: jobPod, reason: "inject-empty", warning: "returned no pod",
		},
		{
			name: "not a pod", owners: goldenOwners,
			review: bytes.Replace(jobPod, []byte(`"kind": "Pod"`), []byte(`"kind": "Deployment"`), 1),
			reason: "unexpected-kind", warning: "expected a pod",
		},
		{
			name: "not a create", owners: goldenOwners,
			review: bytes.Replace(jobPod, []byte(`"operation": "CREATE"`), []byte(`"operation": "UPDATE"`), 1),
			reason: "unexpected-operation", warning: "expected CREATE, got UPDATE",
		},
		{
			name: "object is not a pod", owners: goldenOwners,
			review: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"a","object":{"spec":"nope"}}}`),
			reason: "decode-pod", warning: "decode pod",
		},
		{
			name: "no object", owners: goldenOwners,
			review: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"a"}}`),
			reason: "no-object", warning: "no object",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(tc.owners)
			h.opts.LookupTimeout = 50 * time.Millisecond
			if tc.mutate != nil {
				h.mutate = tc.mutate
			}
			url, client := tlsServer(t, h)
			r := admitReview(t, client, url, tc.review)
			if !r.Response.Allowed {
				t.Fatalf("pod denied: %+v", r.Response.Result)
			}
			if r.Response.Patch != nil || r.Response.PatchType != nil {
				t.Errorf("pod patched despite the error: %s", r.Response.Patch)
			}
			w := strings.Join(r.Response.Warnings, "\n")
			if !strings.Contains(w, "jobcheck: pod admitted without monitoring ("+tc.reason+")") || !strings.Contains(w, tc.warning) {
				t.Errorf("warnings %q, want one naming %s and containing %q", r.Response.Warnings, tc.reason, tc.warning)
			}
			if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(resultError, tc.reason)); got != 1 {
				t.Errorf("admissions_total{result=error,reason=%s} = %v, want 1", tc.reason, got)
			}
		})
	}
}

func TestPodWithoutJobOwnerIsSkipped(t *testing.T) {
	in := readFile(t, filepath.Join("testdata", "golden", "job-two-containers.review.json"))
	in = bytes.Replace(in, []byte(`"kind": "Job"`), []byte(`"kind": "ReplicaSet"`), 1)
	lookedUp := false
	h := newTestHandler(ownersFunc(func(context.Context, string, metav1.OwnerReference) (inject.Owner, error) {
		lookedUp = true
		return inject.Owner{}, nil
	}))
	url, client := tlsServer(t, h)
	r := admitReview(t, client, url, in)
	if !r.Response.Allowed || r.Response.Patch != nil {
		t.Fatalf("allowed=%v patch=%s, want allowed and no patch", r.Response.Allowed, r.Response.Patch)
	}
	if lookedUp {
		t.Error("owner looked up for a pod no Job controls")
	}
	if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(resultSkipped, "not-a-job-pod")); got != 1 {
		t.Errorf("skipped/not-a-job-pod = %v, want 1", got)
	}
}

// TestNamespaceComesFromTheRequest: at admission a pod's metadata.namespace
// may be empty; the lookup must use the request's namespace.
func TestNamespaceComesFromTheRequest(t *testing.T) {
	in := readFile(t, filepath.Join("testdata", "golden", "job-two-containers.review.json"))
	in = bytes.Replace(in, []byte(`"db-migrate-",`+"\n        "+`"namespace": "team-a",`), []byte(`"db-migrate-",`), 1)
	var seen string
	h := newTestHandler(ownersFunc(func(_ context.Context, ns string, ref metav1.OwnerReference) (inject.Owner, error) {
		seen = ns
		return goldenOwners[ref.Name], nil
	}))
	url, client := tlsServer(t, h)
	r := admitReview(t, client, url, in)
	if bytes.Contains(rawObject(t, in), []byte(`"namespace"`)) {
		t.Fatal("test input still names the pod's namespace")
	}
	if seen != "team-a" || r.Response.Patch == nil {
		t.Fatalf("lookup in namespace %q (want team-a), patch %s", seen, r.Response.Patch)
	}
}

func TestOneLogLinePerAdmission(t *testing.T) {
	var buf bytes.Buffer
	h := newTestHandler(goldenOwners)
	h.opts.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	url, client := tlsServer(t, h)
	admitReview(t, client, url, readFile(t, filepath.Join("testdata", "golden", "cronjob-unknown-fields.review.json")))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"msg": "admission", "uid": "0a5f7c1e-1111-4c1e-9a0e-000000000001", "namespace": "team-a",
		"owner": "CronJob nightly-export/Job nightly-export-29345678", "result": "injected", "reason": "injected",
		"pod": "nightly-export-29345678-",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}
}
