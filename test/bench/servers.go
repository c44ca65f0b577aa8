//go:build bench

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/certs"
	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
	"github.com/jobcheck/jobcheck/webhook"
)

// staticOwners answers every lookup with benchOwner: the owner cache's cost is
// measured separately, against a real API server (test/e2e/bench_*_test.go).
type staticOwners struct{}

func (staticOwners) Lookup(context.Context, string, metav1.OwnerReference) (inject.Owner, error) {
	return benchOwner(), nil
}

// realHandler is the webhook's /mutate handler as `serve` builds it: default
// injection settings with the run watcher on (the agents report attempts),
// its metrics, and its JSON log (written to nowhere, but formatted all the
// same). No image lookup: every container of the benchmark pods has a
// command, so `serve` would not call it either.
func realHandler() http.Handler {
	cfg := inject.Defaults()
	cfg.AgentImage = "registry.example/jobcheck/agent:v1.0.0"
	cfg.Pushgateway = "http://pushgateway.monitoring:9091"
	cfg.Version = "v1.0.0"
	cfg.Report = contract.ReportAttempt
	return webhook.NewHandler(webhook.Options{
		Inject:  cfg,
		Owners:  staticOwners{},
		Metrics: webhook.NewMetrics(func() time.Time { return time.Time{} }),
		Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
}

// floorHandler is the least any mutating webhook does: read the review,
// decode it and the pod in it, and answer "allowed" with no patch.
func floorHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, fmt.Sprintf("decode review: %v", err), http.StatusBadRequest)
			return
		}
		var pod corev1.Pod
		if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
			http.Error(w, fmt.Sprintf("decode pod: %v", err), http.StatusBadRequest)
			return
		}
		out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta,
			Response: &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// tlsServer serves h at /mutate over TLS on a loopback port, with the same
// server settings as `jobcheck-webhook serve`; it returns the URL and a
// function that stops it.
func tlsServer(h http.Handler, pair tls.Certificate) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mutate", h)
	srv := &http.Server{Handler: mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn)}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return "https://" + ln.Addr().String() + "/mutate", func() { _ = srv.Close() }, nil
}

// servingPair makes a certificate for 127.0.0.1 with the certs package and a
// pool that trusts it.
func servingPair() (tls.Certificate, *x509.CertPool, error) {
	b, err := certs.Generate(nil, []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("load serving pair: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(b.CA)
	return pair, roots, nil
}
