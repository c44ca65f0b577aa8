package webhook

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// BenchmarkAdmission is one full admission round trip over TLS with a
// kept-alive connection, as the API server makes them: request encoded,
// sent, handled (owner lookup from a stub, inject, patch), answered, read.
func BenchmarkAdmission(b *testing.B) {
	body := readFile(b, filepath.Join("testdata", "golden", "cronjob-unknown-fields.review.json"))
	url, client := tlsServer(b, newTestHandler(goldenOwners))
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url+"/mutate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"patchType":"JSONPatch"`)) {
			b.Fatalf("status %d: %s", resp.StatusCode, out)
		}
	}
}

// BenchmarkHandler is the same admission without the network.
func BenchmarkHandler(b *testing.B) {
	for _, name := range []string{"cronjob-unknown-fields", "not-enabled"} {
		b.Run(name, func(b *testing.B) {
			body := readFile(b, filepath.Join("testdata", "golden", name+".review.json"))
			h := newTestHandler(goldenOwners)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
				}
			}
		})
	}
}
