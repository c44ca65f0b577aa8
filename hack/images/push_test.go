package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// privateRegistry is go-containerregistry's in-memory registry behind HTTP
// basic authentication, on a loopback address (plain HTTP).
func privateRegistry(t *testing.T, user, password string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// dockerConfig points authn.DefaultKeychain at a docker config that holds
// the given auths (host -> user:password), and at nothing else.
func dockerConfig(t *testing.T, auths map[string]string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	dir := filepath.Join(home, "docker")
	t.Setenv("DOCKER_CONFIG", dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var entries []string
	for host, cred := range auths {
		entries = append(entries, fmt.Sprintf("%q: {%q: %q}", host, "auth", base64.StdEncoding.EncodeToString([]byte(cred))))
	}
	cfg := `{"auths": {` + strings.Join(entries, ",") + `}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPush(t *testing.T) {
	o := buildOptions{version: "v0.2.0-test", out: filepath.Join(t.TempDir(), "images"), bin: prebuilt(t), created: time.Unix(0, 0).UTC()}
	built, err := build(context.Background(), o, images)
	if err != nil {
		t.Fatal(err)
	}
	host := privateRegistry(t, "robot", "s3cret")
	dest := host + "/team"

	// Without credentials the registry refuses the push.
	dockerConfig(t, nil)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"push", "-layout", o.out, "-registry", dest}, &stdout, &stderr); code != 1 {
		t.Fatalf("push without credentials: exit %d, want 1; stderr:\n%s", code, &stderr)
	}
	if !strings.Contains(stderr.String(), "401 Unauthorized") {
		t.Errorf("push without credentials: stderr %q does not say why", &stderr)
	}

	// With the docker config's credentials it pushes both indexes.
	dockerConfig(t, map[string]string{host: "robot:s3cret"})
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"push", "-layout", o.out, "-registry", dest}, &stdout, &stderr); code != 0 {
		t.Fatalf("push: exit %d; stderr:\n%s", code, &stderr)
	}
	auth := remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret"})
	var lines []string
	for _, b := range built {
		want, err := b.idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ref := dest + "/" + b.name
		lines = append(lines, ref+"@"+want.String())
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Index(r, auth)
		if err != nil {
			t.Fatalf("read back %s: %v", ref, err)
		}
		if d, err := got.Digest(); err != nil || d != want {
			t.Errorf("%s: digest %s, built %s (%v)", ref, d, want, err)
		}
		// Every platform's image came along, layer included.
		m, err := got.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, desc := range m.Manifests {
			img, err := got.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkPushedImage(t, ref, img, *desc.Platform)
		}
	}
	if got := strings.Fields(stdout.String()); strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Errorf("push printed %q, want %q", got, lines)
	}
	if got, want := catalog(t, host), []string{"team/jobcheck-agent", "team/jobcheck-webhook"}; !slices.Equal(got, want) {
		t.Errorf("registry catalog %v, want %v", got, want)
	}
}

// checkPushedImage checks that a pushed image's config and layer are readable
// from the registry and name the platform the index says.
func checkPushedImage(t *testing.T, ref string, img v1.Image, p v1.Platform) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("%s %s: config: %v", ref, platformString(p), err)
	}
	if cf.Architecture != p.Architecture || cf.Variant != p.Variant {
		t.Errorf("%s %s: config says %s/%s", ref, platformString(p), cf.Architecture, cf.Variant)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s %s: layers %d %v", ref, platformString(p), len(layers), err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n, err := io.Copy(io.Discard, rc); err != nil || n == 0 {
		t.Errorf("%s %s: layer blob: %d bytes, %v", ref, platformString(p), n, err)
	}
}

// catalog lists the registry's repositories.
func catalog(t *testing.T, host string) []string {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), reg, remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(repos)
	return repos
}

func TestPushNeedsALayout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	if code := run(context.Background(), []string{"push", "-layout", dir, "-registry", "127.0.0.1:1/x"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "read OCI layout "+dir) {
		t.Errorf("stderr %q does not name the layout", &stderr)
	}
}
