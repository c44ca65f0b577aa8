package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/jobcheck/jobcheck/certs"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeBadFlags(t *testing.T) {
	dir := t.TempDir()
	b, err := certs.Generate([]string{"localhost"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	valid := []string{"--tls-cert-file", crt, "--tls-key-file", key, "--kubeconfig", kubeconfig}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad duration", []string{"--lookup-timeout", "soon"}, 2, `invalid value "soon" for flag -lookup-timeout`},
		{"no certificate", []string{"--kubeconfig", "x"}, 2, "need --tls-cert-file and --tls-key-file"},
		{"bad shared flag", []string{"--tls-cert-file", crt, "--tls-key-file", key, "--heartbeat", "sometimes"}, 2, "heartbeat"},
		{"argument", []string{"extra"}, 2, `unexpected argument "extra"`},
		{"missing key file", []string{"--tls-cert-file", crt, "--tls-key-file", filepath.Join(dir, "nope.key")}, 1, "nope.key"},
		{"missing kubeconfig", []string{"--tls-cert-file", crt, "--tls-key-file", key, "--kubeconfig", filepath.Join(dir, "nope.yaml")}, 1, "nope.yaml"},
		// An address in use: exit 1 at start-up, not a process serving nothing.
		{"busy --listen", append(valid, "--listen", busy.Addr().String(), "--metrics-listen", "127.0.0.1:0"), 1, "--listen " + busy.Addr().String()},
		{"busy --metrics-listen", append(valid, "--listen", "127.0.0.1:0", "--metrics-listen", busy.Addr().String()), 1, "--metrics-listen " + busy.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			code := run(append([]string{"serve"}, tc.args...), nil, io.Discard, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Errorf("exit %d stderr %q, want %d and one line containing %q", code, errOut.String(), tc.code, tc.want)
			}
		})
	}
	var out bytes.Buffer
	if code := run([]string{"serve", "--help"}, nil, io.Discard, &out); code != 0 || !strings.Contains(out.String(), "-tls-cert-file") || !strings.Contains(out.String(), "-agent-image") {
		t.Errorf("--help: exit %d, output %q", code, out.String())
	}
}

// TestServeWiring runs the real serve wiring on 127.0.0.1:0 against an API
// server that does not answer: the webhook is live but not ready, serves
// /mutate over TLS with the certificate from disk, admits a Job's pod
// unmutated with a warning (fail-open), counts it, and stops on cancel.
func TestServeWiring(t *testing.T) {
	dir := t.TempDir()
	b, err := certs.Generate([]string{"localhost"}, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type addrs struct{ https, metrics string }
	ready := make(chan addrs, 1)
	done := make(chan int, 1)
	var logs syncBuffer
	go func() {
		done <- serve(ctx, []string{
			"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
			"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-key-file", filepath.Join(dir, "tls.key"),
			"--kubeconfig", kubeconfig, "--agent-image", "registry.example/jobcheck/agent:v1",
			"--shutdown-delay", "2s",
		}, &logs, func(h, m string) { ready <- addrs{h, m} })
	}()
	var a addrs
	select {
	case a = <-ready:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, logs.String())
	}

	if code, _ := httpGet(t, http.DefaultClient, "http://"+a.metrics+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if code, body := httpGet(t, http.DefaultClient, "http://"+a.metrics+"/readyz"); code != 503 || !strings.Contains(body, "owner-caches") {
		t.Errorf("/readyz = %d %q, want 503 naming owner-caches (no API server)", code, body)
	}

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(b.CA)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"team-a",
	  "object":{"metadata":{"generateName":"db-migrate-","ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"db-migrate","uid":"j","controller":true}]},
	  "spec":{"containers":[{"name":"m","image":"x","command":["/bin/migrate"]}]}}}}`
	resp, err := client.Post("https://"+a.https+"/mutate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	var r admissionv1.AdmissionReview
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if r.Response == nil || !r.Response.Allowed || r.Response.Patch != nil || r.Response.UID != "u-1" {
		t.Fatalf("answer %+v, want u-1 allowed without a patch", r.Response)
	}
	if w := strings.Join(r.Response.Warnings, " "); !strings.Contains(w, "owner-lookup") {
		t.Errorf("warnings %q, want the owner-lookup failure", w)
	}
	_, metrics := httpGet(t, http.DefaultClient, "http://"+a.metrics+"/metrics")
	leaf, _ := b.Leaf()
	for _, want := range []string{
		`jobcheck_webhook_admissions_total{reason="owner-lookup",result="error"} 1`,
		fmt.Sprintf("jobcheck_webhook_certificate_expiry_timestamp_seconds %s", promFloat(leaf.NotAfter.Unix())),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// SIGTERM: /readyz fails at once, and the webhook still answers during
	// --shutdown-delay, so the Service can stop sending requests first.
	cancel()
	deadline := time.Now().Add(10 * time.Second) // a bound for the event, not a timing assertion
	for {
		if _, body := httpGet(t, http.DefaultClient, "http://"+a.metrics+"/readyz"); strings.Contains(body, "shutting-down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never said shutting-down after the shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err = client.Post("https://"+a.https+"/mutate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatalf("no answer during the shutdown delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("answer during the shutdown delay: %s, want 200", resp.Status)
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d after shutdown, want 0: %s", code, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"admission"`) || !strings.Contains(logs.String(), `"uid":"u-1"`) {
		t.Errorf("no admission log line for u-1:\n%s", logs.String())
	}
}

func promFloat(v int64) string {
	return fmt.Sprintf("%g", float64(v)) // the exposition format of a float
}

func httpGet(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
