//go:build bench

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkAdmission is one call of the real /mutate handler (decode, owner
// lookup from a static table, inject, JSON patch, metrics, log line), and of
// the floor, with no network, for a 1- and a 10-container Job pod.
func BenchmarkAdmission(b *testing.B) {
	for _, c := range []int{1, 10} {
		body, err := review(jobPod(c))
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []struct {
			name string
			h    http.Handler
		}{{"real", realHandler()}, {"floor", floorHandler()}} {
			b.Run(s.name+"-"+map[int]string{1: "1-container", 10: "10-containers"}[c], func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					s.h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
