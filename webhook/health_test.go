package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadyOnlyWithCertificateAndSyncedCaches(t *testing.T) {
	var cert, caches atomic.Bool
	expiry := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	m := NewMetrics(func() time.Time {
		if cert.Load() {
			return expiry
		}
		return time.Time{}
	})
	srv := httptest.NewServer(OpsHandler(m, Check{"certificate", cert.Load}, Check{"owner-caches", caches.Load}))
	defer srv.Close()

	if code, body := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d %q, want 200 while not ready", code, body)
	}
	for _, tc := range []struct {
		cert, caches bool
		code         int
		body         string
	}{
		{false, false, 503, "not ready: certificate, owner-caches"},
		{true, false, 503, "not ready: owner-caches"},
		{false, true, 503, "not ready: certificate"},
		{true, true, 200, "ok"},
	} {
		cert.Store(tc.cert)
		caches.Store(tc.caches)
		code, body := get(t, srv.URL+"/readyz")
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("cert=%v caches=%v: /readyz = %d %q, want %d %q", tc.cert, tc.caches, code, body, tc.code, tc.body)
		}
	}

	m.observe(resultInjected, "injected", 3*time.Millisecond)
	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`jobcheck_webhook_admissions_total{reason="injected",result="injected"} 1`,
		`jobcheck_webhook_admission_duration_seconds_count 1`,
		`jobcheck_webhook_inflight_requests 0`,
		`jobcheck_webhook_certificate_expiry_timestamp_seconds 1.798859045e+09`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
