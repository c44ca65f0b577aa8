package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// TestImageFlags: serve looks images up by default, the offline injector
// only when asked; a bad value names its flag.
func TestImageFlags(t *testing.T) {
	tests := []struct {
		name    string
		offline bool
		args    []string
		wantOn  bool
		wantErr string
	}{
		{"serve default", false, nil, true, ""},
		{"serve off", false, []string{"--image-lookup=false"}, false, ""},
		{"serve tuned", false, []string{"--image-lookup-budget=1s", "--image-tag-ttl=0s", "--image-cache-size=10", "--image-insecure-registries=registry.local:5000, 10.0.0.1"}, true, ""},
		{"inject default", true, nil, false, ""},
		{"inject on", true, []string{"--resolve-images"}, true, ""},
		{"zero budget", false, []string{"--image-lookup-budget=0s"}, false, "--image-lookup-budget 0s: want a positive duration"},
		{"negative TTL", false, []string{"--image-tag-ttl=-1s"}, false, "--image-tag-ttl -1s: want zero or more"},
		{"zero cache", false, []string{"--image-cache-size=0"}, false, "--image-cache-size 0: want a positive number"},
		{"URL as registry", true, []string{"--resolve-images", "--image-insecure-registries=http://registry.local"}, false,
			`--image-insecure-registries "http://registry.local": want host or host:port, without scheme or path`},
		{"missing CA file", false, []string{"--image-ca-file=/nonexistent/ca.pem"}, false, "--image-ca-file: image registry CA bundle: open /nonexistent/ca.pem: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			f := addImageFlags(fs, tt.offline)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			l, err := f.lookup(nil, prometheus.NewRegistry(), nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (l != nil) != tt.wantOn {
				t.Errorf("lookup %v, want on %v", l, tt.wantOn)
			}
		})
	}
}

// TestInjectResolveImages: with --resolve-images, a container without
// command is wrapped with its image's ENTRYPOINT and CMD, read from a real
// registry with the credentials of the user's docker config; without it,
// it is left alone with a warning and a hint. An image that cannot be read
// leaves its container alone with the registry's answer.
func TestInjectResolveImages(t *testing.T) {
	host := startRegistry(t, "robot", "s3cret")
	pushImage(t, host, "team/entry:1", []string{"/docker-entrypoint.sh"}, []string{"export", "--all"})
	manifest := `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, annotations: {jobcheck.io/enabled: "true"}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: entry, image: HOST/team/entry:1}
          - {name: gone, image: HOST/team/gone:1, args: ["--once"]}
`
	manifest = strings.ReplaceAll(manifest, "HOST", host)

	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("robot:s3cret"))
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)

	code, out, stderr := runInjectOn(t, manifest, append([]string{"-f", "-", "--resolve-images"}, injectFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var cj batchv1.CronJob
	if err := yaml.Unmarshal([]byte(out), &cj); err != nil {
		t.Fatalf("output does not decode: %v\n%s", err, out)
	}
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers
	if want := []string{"/opt/jobcheck/jobcheck", "run", "--", "/docker-entrypoint.sh"}; !cmp.Equal(c[0].Command, want) {
		t.Errorf("command = %q, want %q", c[0].Command, want)
	}
	if want := []string{"export", "--all"}; !cmp.Equal(c[0].Args, want) {
		t.Errorf("args = %q, want the image's CMD %q", c[0].Args, want)
	}
	if c[1].Command != nil {
		t.Errorf("container of a missing image wrapped: %q", c[1].Command)
	}
	if !strings.Contains(stderr, `container "gone" not wrapped: it has no command and its image's ENTRYPOINT could not be read (GET http://`+host) ||
		strings.Contains(stderr, "hint") {
		t.Errorf("stderr = %q, want the registry's answer for gone, and no hint", stderr)
	}

	code, out, stderr = runInjectOn(t, manifest, append([]string{"-f", "-"}, injectFlags...)...)
	if code != 0 || strings.Contains(out, "/docker-entrypoint.sh") {
		t.Errorf("without --resolve-images: exit %d, the image was read:\n%s", code, out)
	}
	if !strings.Contains(stderr, "hint: --resolve-images") {
		t.Errorf("without --resolve-images: stderr %q, want the hint", stderr)
	}
}

// startRegistry serves go-containerregistry's in-memory registry on
// loopback, requiring user:pass, and returns its host:port.
func startRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	store := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		store.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushImage pushes an image running entrypoint and cmd as host/repoTag,
// with the credentials of startRegistry.
func pushImage(t *testing.T, host, repoTag string, entrypoint, cmd []string) {
	t.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: "amd64",
		Config: v1.Config{Entrypoint: entrypoint, Cmd: cmd}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}
}
