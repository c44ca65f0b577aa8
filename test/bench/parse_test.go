//go:build bench

package main

import (
	"strings"
	"testing"
)

func TestParseGobenchNamesByPackage(t *testing.T) {
	out := `goos: linux
pkg: github.com/jobcheck/jobcheck/inject
BenchmarkPod/job-1-container-2         	  109320	     17476 ns/op	    9128 B/op	      60 allocs/op
BenchmarkPod/job-1-container-2         	  109320	     17000 ns/op	    9128 B/op	      60 allocs/op
pkg: github.com/jobcheck/jobcheck/webhook
BenchmarkAdmission-2   	     399	   3727995 ns/op	  356100 B/op	    5400 allocs/op
PASS
`
	res, err := parseGobench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := res["gobench/inject.BenchmarkPod/job-1-container/ns/op"]; got == nil || len(got.Values) != 2 || got.Values[1] != 17000 {
		t.Errorf("inject BenchmarkPod ns/op = %+v, want two runs, the second 17000", got)
	}
	if got := res["gobench/webhook.BenchmarkAdmission/allocs/op"]; got == nil || got.Values[0] != 5400 {
		t.Errorf("webhook BenchmarkAdmission allocs/op = %+v, want 5400", got)
	}
}

func TestMedian(t *testing.T) {
	r := results{"odd": {Values: []float64{3, 1, 2}}, "even": {Values: []float64{4, 1, 3, 2}}}
	if m, _ := r.median("odd"); m != 2 {
		t.Errorf("median of 3,1,2 = %v, want 2", m)
	}
	if m, _ := r.median("even"); m != 2.5 {
		t.Errorf("median of 4,1,3,2 = %v, want 2.5", m)
	}
	if _, ok := r.median("missing"); ok {
		t.Error("median of a figure never measured reported ok")
	}
}

func TestShape(t *testing.T) {
	xs := []float64{1, 10, 50}
	for _, tc := range []struct {
		ys   []float64
		want string
	}{
		{[]float64{1, 1.1, 1.2}, "flat"},
		{[]float64{1, 10, 50}, "linear"},
		{[]float64{1, 40, 50}, "sublinear"},
		{[]float64{1, 2, 50}, "superlinear"},
		{[]float64{5, 1, 4}, "no growth"},
	} {
		if got := shape(xs, tc.ys, "ms", "container"); !strings.HasPrefix(got, tc.want) {
			t.Errorf("shape(%v) = %q, want %s", tc.ys, got, tc.want)
		}
	}
}

func TestOriginOf(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/prometheus/client_golang/prometheus.(*Registry).Gather": "github.com/prometheus/client_golang",
		"google.golang.org/protobuf/internal/impl.(*MessageInfo).init":      "google.golang.org/protobuf",
		"golang.org/x/sys/unix.Syscall":                                     "golang.org/x/sys",
		"crypto/tls.(*Conn).Handshake":                                      "std/crypto",
		"runtime.mallocgc":                                                  "std/runtime",
		"vendor/golang.org/x/net/idna.idnaValues":                           "std/vendor",
		"go:func.*": "runtime metadata (go:func)",
	} {
		if got := originOf(sym); got != want {
			t.Errorf("originOf(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestHotspotSkipsEntryPoints(t *testing.T) {
	frames := []frame{
		{"github.com/jobcheck/jobcheck/webhook.(*Handler).ServeHTTP", 80},
		{"github.com/jobcheck/jobcheck/webhook.(*Handler).serve", 80},
		{"github.com/jobcheck/jobcheck/webhook.(*Handler).admit", 70},
		{"github.com/jobcheck/jobcheck/webhook.podPatch", 60},
		{"sigs.k8s.io/json.UnmarshalCaseSensitivePreserveInts", 30},
		{"encoding/json.Marshal", 25},
		{"gomodules.xyz/jsonpatch/v2.CreatePatch", 20},
	}
	got := hotspot(frames)
	if !strings.Contains(got, "webhook.podPatch") || !strings.Contains(got, "75%") {
		t.Errorf("hotspot = %q, want webhook.podPatch at 75%% of the handler", got)
	}
	if !strings.Contains(got, "`gomodules.xyz/jsonpatch/v2.CreatePatch` (25%)") {
		t.Errorf("hotspot = %q, want the library under it: jsonpatch at 25%%", got)
	}
}
