package imageconfig

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jobcheck/jobcheck/certs"
	"github.com/jobcheck/jobcheck/inject"
)

// newLookup is a Lookup with o, its metrics on a registry of their own.
func newLookup(t testing.TB, o Options) (*Lookup, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l, reg
}

// resolveOne resolves image with no pull secrets.
func resolveOne(l *Lookup, image string) inject.Image {
	return l.Resolve(context.Background(), "team-a", "default", nil, []string{image})[image]
}

// count is the lookups of result so far.
func count(l *Lookup, result string) int {
	return int(testutil.ToFloat64(l.metrics.lookups.WithLabelValues(result)))
}

// TestResolveImageAndIndex: a plain image gives its ENTRYPOINT and CMD; an
// index gives Platforms only when its linux platforms run different
// commands, leaving out other systems and attestation manifests.
func TestResolveImageAndIndex(t *testing.T) {
	r := newRegistry(t, registryOptions{})
	attestation := image(t, nil, nil, v1.Platform{OS: "unknown", Architecture: "unknown"})
	windows := image(t, []string{`C:\app.exe`}, nil, v1.Platform{OS: "windows", Architecture: "amd64"})
	r.push(t, "team/plain:1", image(t, []string{"/entry.sh"}, []string{"serve", "--port=80"}, amd64))
	byDigest := r.push(t, "team/pinned:1", image(t, nil, []string{"python", "job.py"}, amd64))
	unknown, win := v1.Platform{OS: "unknown", Architecture: "unknown"}, v1.Platform{OS: "windows", Architecture: "amd64"}
	r.push(t, "team/differ:1", index(
		amd64, image(t, []string{"/amd64/app"}, []string{"run"}, amd64),
		arm64, image(t, []string{"/arm64/app"}, []string{"run"}, arm64),
		unknown, attestation,
		win, windows,
	))
	r.push(t, "team/agree:1", index(
		amd64, image(t, []string{"/app"}, []string{"run"}, amd64),
		arm64, image(t, []string{"/app"}, []string{"run"}, arm64),
		unknown, attestation,
	))
	r.push(t, "team/windows:1", index(win, windows))

	tests := []struct {
		image   string
		want    inject.Image
		wantErr string
	}{
		{image: r.host + "/team/plain:1", want: inject.Image{Entrypoint: []string{"/entry.sh"}, Cmd: []string{"serve", "--port=80"}}},
		{image: byDigest, want: inject.Image{Cmd: []string{"python", "job.py"}}},
		{image: r.host + "/team/differ:1", want: inject.Image{Platforms: map[string]inject.Image{
			"linux/amd64":    {Entrypoint: []string{"/amd64/app"}, Cmd: []string{"run"}},
			"linux/arm64/v8": {Entrypoint: []string{"/arm64/app"}, Cmd: []string{"run"}},
		}}},
		{image: r.host + "/team/agree:1", want: inject.Image{Entrypoint: []string{"/app"}, Cmd: []string{"run"}}},
		{image: r.host + "/team/windows:1", wantErr: "the image index has no linux image (platforms: windows/amd64)"},
		{image: r.host + "/team/missing:1", wantErr: "NAME_UNKNOWN"},
		{image: "Not An Image", wantErr: `image reference "Not An Image"`},
	}
	l, _ := newLookup(t, Options{})
	var images []string
	for _, tt := range tests {
		images = append(images, tt.image)
	}
	got := l.Resolve(context.Background(), "team-a", "default", nil, append(images, images[0]))
	if len(got) != len(tests) {
		t.Errorf("Resolve answered %d images, want %d (one per distinct image)", len(got), len(tests))
	}
	for _, tt := range tests {
		g := got[tt.image]
		if tt.wantErr != "" {
			if !strings.Contains(g.Err, tt.wantErr) {
				t.Errorf("%s: Err = %q, want it to contain %q", tt.image, g.Err, tt.wantErr)
			}
			continue
		}
		if d := cmp.Diff(tt.want, g); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.image, d)
		}
	}
}

// TestResolveCache: after the first lookup, an image by digest costs no
// request, a tag none within its TTL, then one HEAD while it has not moved,
// and a moved tag is seen once the TTL has passed.
func TestResolveCache(t *testing.T) {
	r := newRegistry(t, registryOptions{})
	pinned := r.push(t, "team/pinned:1", image(t, []string{"/pinned"}, nil, amd64))
	r.push(t, "team/app:stable", image(t, []string{"/app"}, []string{"v1"}, amd64))
	tag := r.host + "/team/app:stable"

	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	l, _ := newLookup(t, Options{TagTTL: time.Minute})
	l.now = func() time.Time { return now }

	for i, image := range []string{pinned, pinned, tag, tag} {
		resolveOne(l, image)
		if i%2 == 1 && r.requests() != int64(l.digests.Len())*2 {
			t.Errorf("lookup %d of %s: %d registry requests, want only those of the first lookups", i, image, r.requests())
		}
	}
	if hits, misses := count(l, resultHit), count(l, resultMiss); hits != 2 || misses != 2 {
		t.Errorf("hits %d, misses %d; want 2 and 2", hits, misses)
	}

	now = now.Add(61 * time.Second)
	gets, blobs := r.manifestGets.Load(), r.blobGets.Load()
	if got := resolveOne(l, tag); !cmp.Equal(got.Cmd, []string{"v1"}) {
		t.Errorf("after the TTL: %+v, want the same image", got)
	}
	if r.manifestHeads.Load() != 1 || r.manifestGets.Load() != gets || r.blobGets.Load() != blobs {
		t.Errorf("after the TTL, tag not moved: %d HEAD, %d more GET, %d more blob reads; want one HEAD only",
			r.manifestHeads.Load(), r.manifestGets.Load()-gets, r.blobGets.Load()-blobs)
	}

	r.push(t, "team/app:stable", image(t, []string{"/app"}, []string{"v2"}, amd64))
	if got := resolveOne(l, tag); !cmp.Equal(got.Cmd, []string{"v1"}) {
		t.Errorf("moved tag within the TTL: %+v, want the cached v1", got)
	}
	now = now.Add(61 * time.Second)
	if got := resolveOne(l, tag); !cmp.Equal(got.Cmd, []string{"v2"}) {
		t.Errorf("moved tag after the TTL: %+v, want v2", got)
	}
}

// TestResolveSharesOneRead: concurrent lookups of one image with the same
// credentials make one registry read.
func TestResolveSharesOneRead(t *testing.T) {
	r := newRegistry(t, registryOptions{})
	r.push(t, "team/app:1", image(t, []string{"/app"}, nil, amd64))
	l, _ := newLookup(t, Options{Budget: time.Minute, FetchTimeout: time.Minute})
	release := r.hold()
	const n = 8
	var wg sync.WaitGroup
	results := make([]inject.Image, n)
	started := make(chan struct{}, n)
	for i := range n {
		wg.Go(func() {
			started <- struct{}{}
			results[i] = resolveOne(l, r.host+"/team/app:1")
		})
	}
	for range n {
		<-started
	}
	// every caller is in Resolve and one read waits at the registry: the
	// others share it (or, arriving after it, find the cache filled)
	for r.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	release()
	wg.Wait()
	for i, img := range results {
		if !cmp.Equal(img.Entrypoint, []string{"/app"}) {
			t.Errorf("caller %d: %+v", i, img)
		}
	}
	if g := r.manifestGets.Load(); g != 1 {
		t.Errorf("%d manifest reads for %d concurrent lookups, want 1", g, n)
	}
}

// TestResolveBudget: a registry that does not answer costs the budget and
// an Err saying so; the read goes on and fills the cache for the next pod.
func TestResolveBudget(t *testing.T) {
	r := newRegistry(t, registryOptions{})
	r.push(t, "team/slow:1", image(t, []string{"/slow"}, nil, amd64))
	l, _ := newLookup(t, Options{Budget: 50 * time.Millisecond, FetchTimeout: time.Minute})
	release := r.hold()
	got := resolveOne(l, r.host+"/team/slow:1")
	if !strings.Contains(got.Err, "registry did not answer within 50ms (the lookup goes on in the background for the next pod)") {
		t.Errorf("Err = %q, want the budget named", got.Err)
	}
	release()
	l.opts.Budget = time.Minute // the next pod waits for the read already under way, or finds it cached
	if got := resolveOne(l, r.host+"/team/slow:1"); !cmp.Equal(got.Entrypoint, []string{"/slow"}) {
		t.Errorf("next lookup: %+v, want the image", got)
	}
	if g := r.manifestGets.Load(); g != 1 {
		t.Errorf("%d manifest reads, want the one begun by the first lookup", g)
	}
	if e := count(l, resultError); e != 1 {
		t.Errorf("%d errors counted, want 1", e)
	}
}

// TestResolveStale: when the registry fails, what a tag pointed to before
// is used.
func TestResolveStale(t *testing.T) {
	r := newRegistry(t, registryOptions{})
	r.push(t, "team/app:1", image(t, []string{"/app"}, nil, amd64))
	now := time.Now()
	l, _ := newLookup(t, Options{Budget: 200 * time.Millisecond})
	l.now = func() time.Time { return now }
	resolveOne(l, r.host+"/team/app:1")
	now = now.Add(2 * DefaultTagTTL)
	for _, status := range []int64{503, 404} {
		r.status.Store(status)
		if got := resolveOne(l, r.host+"/team/app:1"); !cmp.Equal(got.Entrypoint, []string{"/app"}) || got.Err != "" {
			t.Errorf("registry answering %d: %+v, want the cached image", status, got)
		}
	}
	if s := count(l, resultStale); s != 2 {
		t.Errorf("%d stale lookups counted, want 2", s)
	}
}

// TestResolveDown: a registry nobody listens on is an error, quickly (no
// retry for a refused connection).
func TestResolveDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close()
	l, _ := newLookup(t, Options{Budget: time.Minute})
	got := resolveOne(l, host+"/team/app:1")
	if !strings.Contains(got.Err, "connection refused") {
		t.Errorf("Err = %q, want connection refused", got.Err)
	}
}

// TestResolveTLS: a registry with a certificate from a private CA is read
// with that CA given (CAFile), and refused without it; plain HTTP is used
// only for the registries Insecure lists (or that go-containerregistry
// takes as local: 127.0.0.1, as in the other tests).
func TestResolveTLS(t *testing.T) {
	bundle, err := certs.Generate([]string{"registry.test"}, []string{"127.0.0.2"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(bundle.Cert, bundle.Key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, bundle.CA, 0o644); err != nil {
		t.Fatal(err)
	}
	secure := newRegistry(t, registryOptions{addr: "127.0.0.2:0", tls: cert})
	secure.push(t, "team/app:1", image(t, []string{"/tls"}, nil, amd64))
	plain := newRegistry(t, registryOptions{addr: "127.0.0.2:0"})
	plain.push(t, "team/app:1", image(t, []string{"/plain"}, nil, amd64))

	tests := []struct {
		name, image string
		opts        Options
		want        string // the entrypoint, or a substring of Err
	}{
		{"TLS with the CA", secure.host + "/team/app:1", Options{CAFile: caFile}, "/tls"},
		{"TLS without the CA", secure.host + "/team/app:1", Options{}, "certificate signed by unknown authority"},
		{"plain HTTP not listed", plain.host + "/team/app:1", Options{CAFile: caFile}, "server gave HTTP response to HTTPS client"},
		{"plain HTTP listed", plain.host + "/team/app:1", Options{Insecure: []string{plain.host}}, "/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Budget = time.Minute
			l, _ := newLookup(t, tt.opts)
			got := resolveOne(l, tt.image)
			if strings.HasPrefix(tt.want, "/") {
				if got.Err != "" || !cmp.Equal(got.Entrypoint, []string{tt.want}) {
					t.Errorf("got %+v, want entrypoint %s", got, tt.want)
				}
			} else if !strings.Contains(got.Err, tt.want) {
				t.Errorf("Err = %q, want it to contain %q", got.Err, tt.want)
			}
		})
	}
}

// TestNewRefusesBadOptions: each bad option is named.
func TestNewRefusesBadOptions(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Budget: -time.Second}, "image lookup budget -1s: want more than zero"},
		{Options{Budget: time.Minute, FetchTimeout: time.Second}, "image fetch timeout 1s: want at least the budget 1m0s"},
		{Options{TagTTL: -time.Second}, "image tag TTL -1s: want more than zero"},
		{Options{CacheSize: -1}, "image cache size -1: want more than zero"},
		{Options{CAFile: "/nonexistent/ca.crt"}, "image registry CA bundle: open /nonexistent/ca.crt: no such file or directory"},
		{Options{CAFile: notPEM}, "no PEM certificate in it"},
		{Options{Insecure: []string{"https://registry.local"}}, `insecure registry "https://registry.local": want a host or host:port`},
		{Options{Insecure: []string{"registry.local/team"}}, `insecure registry "registry.local/team"`},
	} {
		if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tt.opts, err, tt.want)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Registerer: reg}); err == nil || !strings.Contains(err.Error(), "image lookup metrics") {
		t.Errorf("second New on one registerer = %v, want a metrics registration error", err)
	}
}
