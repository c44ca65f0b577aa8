package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/jobcheck/jobcheck/certs"
	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// testConfig is the webhook's defaults as its flags would set them.
func testConfig() inject.Config {
	c := inject.Defaults()
	c.AgentImage = "registry.example/jobcheck/agent:v1.2.3"
	c.Pushgateway = "http://pushgateway.monitoring:9091"
	c.Version = "v1.2.3"
	c.Report = contract.ReportAttempt // serve's setting while its run watcher runs
	return c
}

// stubOwners answers lookups from a fixed table of Jobs (test double for the
// informer cache; the cache itself is tested in owner_test.go).
type stubOwners map[string]inject.Owner

func (s stubOwners) Lookup(_ context.Context, namespace string, ref metav1.OwnerReference) (inject.Owner, error) {
	o, ok := s[ref.Name]
	if !ok {
		return inject.Owner{}, errors.New("job " + namespace + "/" + ref.Name + " not found")
	}
	return o, nil
}

// ownersFunc adapts a function to Owners.
type ownersFunc func(ctx context.Context, namespace string, ref metav1.OwnerReference) (inject.Owner, error)

func (f ownersFunc) Lookup(ctx context.Context, namespace string, ref metav1.OwnerReference) (inject.Owner, error) {
	return f(ctx, namespace, ref)
}

// goldenOwners are the Jobs and CronJobs behind the pods of testdata/golden.
var goldenOwners = stubOwners{
	"nightly-export-29345678": {
		JobName:            "nightly-export-29345678",
		CronJobName:        "nightly-export",
		CronJobAnnotations: map[string]string{"jobcheck.io/enabled": "true"},
		Schedule:           "0 3 * * *",
		TimeZone:           "Europe/Berlin",
	},
	"db-migrate": {JobName: "db-migrate"},
	"report":     {JobName: "report"},
}

func newTestHandler(owners Owners) *Handler {
	return NewHandler(Options{
		Inject:  testConfig(),
		Owners:  owners,
		Metrics: NewMetrics(func() time.Time { return time.Time{} }),
		Log:     slog.New(slog.DiscardHandler),
	})
}

// tlsServer serves h at /mutate over TLS with a certificate from the certs
// package, and returns its base URL and a client that trusts it.
func tlsServer(t testing.TB, h http.Handler) (string, *http.Client) {
	t.Helper()
	b, err := certs.Generate([]string{"localhost"}, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mutate", h)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(b.CA)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	t.Cleanup(client.CloseIdleConnections)
	return srv.URL, client
}

// post sends body to /mutate and returns the status and body of the answer.
func post(t testing.TB, client *http.Client, url, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/mutate", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// admitReview posts an AdmissionReview as application/json and decodes the
// answer, which must be a 200 carrying a response.
func admitReview(t testing.TB, client *http.Client, url string, review []byte) admissionv1.AdmissionReview {
	t.Helper()
	status, body := post(t, client, url, "application/json", review)
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", status, body)
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer is not an AdmissionReview: %v: %s", err, body)
	}
	if r.Response == nil {
		t.Fatalf("answer has no response: %s", body)
	}
	return r
}

// rawObject is request.object of an AdmissionReview body, byte for byte.
func rawObject(t testing.TB, review []byte) []byte {
	t.Helper()
	var r struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(review, &r); err != nil {
		t.Fatal(err)
	}
	return r.Request.Object
}

// applyPatch applies a JSON patch (RFC 6902) to doc with evanphx/json-patch,
// an implementation independent of the one that created it.
func applyPatch(doc, patch []byte) ([]byte, error) {
	p, err := jsonpatchapply.DecodePatch(patch)
	if err != nil {
		return nil, err
	}
	return p.Apply(doc)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recordedEvent is one Event the handler recorded.
type recordedEvent struct {
	ref                        corev1.ObjectReference
	eventType, reason, message string
}

// eventLog keeps the Events the handler records, in order (test double for
// client-go's recorder: cmd/jobcheck-webhook tests the real one against a
// real API server).
type eventLog struct {
	mu     sync.Mutex
	events []recordedEvent
}

func (l *eventLog) Event(obj runtime.Object, eventType, reason, message string) {
	ref, ok := obj.(*corev1.ObjectReference)
	if !ok {
		panic(fmt.Sprintf("Event on a %T, want an *ObjectReference", obj))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, recordedEvent{*ref, eventType, reason, message})
}

func (l *eventLog) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	l.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, format string, args ...any) {
	l.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) all() []recordedEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// The Job that owns testPod's pods.
const (
	testJob    = "nightly-export-29345678"
	testJobUID = "7b2d9b9f-5e2c-4c8f-8e8d-1f4f1f1f2b22"
)

// testPod is a pod of testJob as the Job controller creates it, with the
// given containers (one with a command when none are given).
func testPod(containers ...corev1.Container) *corev1.Pod {
	if len(containers) == 0 {
		containers = []corev1.Container{{Name: "export", Image: "registry.example/export:1", Command: []string{"/export"}}}
	}
	yes := true
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: testJob + "-", Namespace: "team-a",
			Labels:          map[string]string{"batch.kubernetes.io/job-name": testJob},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: testJob, UID: testJobUID, Controller: &yes}},
		},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: containers},
	}
}

// reviewOf is the AdmissionReview (v1) the API server sends for creating pod.
func reviewOf(t testing.TB, pod *corev1.Pod, dryRun bool) []byte {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	kind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	res := metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "0a5f7c1e-1111-4c1e-9a0e-000000000009", Kind: kind, Resource: res, RequestKind: &kind, RequestResource: &res,
			Namespace: pod.Namespace, Operation: admissionv1.Create, DryRun: &dryRun,
			UserInfo: authnv1.UserInfo{Username: "system:serviceaccount:kube-system:job-controller"},
			Object:   runtime.RawExtension{Raw: raw},
			Options:  runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}`)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveReview hands body to h without the network and decodes the answer,
// which must be a 200 carrying a response that allows the pod.
func serveReview(t testing.TB, h http.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body.Bytes())
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Response == nil {
		t.Fatalf("answer is not an AdmissionReview with a response: %v: %s", err, rec.Body.Bytes())
	}
	if !r.Response.Allowed {
		t.Fatalf("pod denied: %+v", r.Response.Result)
	}
	return r.Response
}
