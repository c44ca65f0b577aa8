//go:build bench && !e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// benchImageLookup measures the admission latency of a pod whose container
// has no command, so that the webhook reads its image's ENTRYPOINT from a
// registry (go-containerregistry's, on loopback, plain HTTP): the first time
// (a new image each time: a manifest and a config to read) and cached (the
// same image again), interleaved with a pod that has a command (no lookup).
// Each answer must wrap the image's entrypoint.
func benchImageLookup(ctx context.Context, t *testing.T, res benchResults, hc *http.Client, url string, job *batchv1.Job, n int) {
	t.Helper()
	reg, err := cluster.ServeRegistry("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	app := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(app, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const entrypoint = "/bench-entrypoint"
	image := func(repo string, i int) cluster.ImageSpec {
		// A variable of its own: every image has its own config, hence its own digest.
		return cluster.ImageSpec{Repo: repo, Files: map[string]string{entrypoint: app}, Entrypoint: []string{entrypoint},
			Cmd: []string{"run"}, Env: []string{fmt.Sprintf("BENCH_IMAGE=%d", i)}}
	}
	specs := []cluster.ImageSpec{image("bench/cached", -1)}
	for i := range n {
		specs = append(specs, image(fmt.Sprintf("bench/first-%d", i), i))
	}
	start := time.Now()
	refs, err := reg.Push(specs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %d images in %v", len(specs), time.Since(start))
	noCommand := func(ref string) []byte {
		pod := benchPod(job)
		pod.Spec.Containers[0].Command = nil
		pod.Spec.Containers[0].Image = ref
		return directReview(t, pod)
	}
	withCommand := directReview(t, benchPod(job))
	cached := noCommand(refs["bench/cached"])
	wrapped := func(what string, answer []byte) {
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(answer, &review); err != nil || review.Response == nil {
			t.Fatalf("%s: not an AdmissionReview (%v): %.400s", what, err, answer)
		}
		if !strings.Contains(string(review.Response.Patch), `"`+entrypoint+`"`) {
			t.Fatalf("%s: the patch does not wrap the image's entrypoint %s (warnings %q): %.600s", what, entrypoint, review.Response.Warnings, review.Response.Patch)
		}
	}
	for range 10 { // warm-up: connections, and the cached image looked up once
		postReview(t, hc, url, withCommand)
		_, b := postReviewBody(t, hc, url, cached)
		wrapped("cached image", b)
	}
	var cmd, hit, miss []time.Duration
	for i := range n {
		cmd = append(cmd, postReview(t, hc, url, withCommand))
		d, b := postReviewBody(t, hc, url, cached)
		wrapped("cached image", b)
		hit = append(hit, d)
		d, b = postReviewBody(t, hc, url, noCommand(refs[fmt.Sprintf("bench/first-%d", i)]))
		wrapped("new image", b)
		miss = append(miss, d)
	}
	for name, ds := range map[string][]time.Duration{"command": cmd, "cached": hit, "first": miss} {
		p50 := medianDur(ds) // sorts ds
		res.add("image/lookup/"+name+"/p50", "ms", millis(p50))
		res.add("image/lookup/"+name+"/p99", "ms", millis(quantileDur(ds, 0.99)))
		res.add("image/lookup/"+name+"/n", "requests", float64(len(ds)))
	}
	t.Logf("admission p50: command %v, no command cached %v, no command first time %v", medianDur(cmd), medianDur(hit), medianDur(miss))
}
