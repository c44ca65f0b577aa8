package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/certs"
	"github.com/jobcheck/jobcheck/inject"
)

// testConfig is the webhook's defaults as its flags would set them.
func testConfig() inject.Config {
	c := inject.Defaults()
	c.AgentImage = "registry.example/jobcheck/agent:v1.2.3"
	c.Pushgateway = "http://pushgateway.monitoring:9091"
	c.Version = "v1.2.3"
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
