package imageconfig

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is go-containerregistry's in-memory registry served over
// real HTTP (or HTTPS) on a loopback address, as a pod's registry. It
// counts the requests it answers, can hold manifest requests until
// released, can fail them, and can require basic auth. Images are pushed
// through a second, plain server on the same storage (admin).
type testRegistry struct {
	host  string // host:port of the served registry
	admin string // host:port of the plain, open server on the same storage

	manifestGets, manifestHeads, blobGets atomic.Int64

	gate    atomic.Pointer[chan struct{}] // when set, manifest requests wait for it to close
	waiting atomic.Int64                  // manifest requests waiting at the gate
	status  atomic.Int64                  // when not 0, manifest requests get this status
	user    string                        // when set, requests need basic auth user:pass
	pass    string
}

type registryOptions struct {
	addr       string          // listen address; "127.0.0.1:0" when empty
	tls        tls.Certificate // serve HTTPS with it when set
	user, pass string
}

// newRegistry starts a test registry, stopped at the end of the test.
func newRegistry(t testing.TB, o registryOptions) *testRegistry {
	t.Helper()
	store := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r := &testRegistry{user: o.user, pass: o.pass}
	adminSrv := httptest.NewServer(store)
	t.Cleanup(adminSrv.Close)
	r.admin = strings.TrimPrefix(adminSrv.URL, "http://")

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.user != "" {
			if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		switch {
		case strings.Contains(req.URL.Path, "/manifests/"):
			if g := r.gate.Load(); g != nil {
				r.waiting.Add(1)
				select {
				case <-*g:
				case <-req.Context().Done():
					return
				}
			}
			if s := r.status.Load(); s != 0 {
				http.Error(w, http.StatusText(int(s)), int(s))
				return
			}
			if req.Method == http.MethodHead {
				r.manifestHeads.Add(1)
			} else {
				r.manifestGets.Add(1)
			}
		case strings.Contains(req.URL.Path, "/blobs/"):
			r.blobGets.Add(1)
		}
		store.ServeHTTP(w, req)
	}))
	if o.addr != "" {
		ln, err := net.Listen("tcp", o.addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", o.addr, err)
		}
		srv.Listener.Close()
		srv.Listener = ln
	}
	if len(o.tls.Certificate) > 0 {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{o.tls}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	r.host = srv.Listener.Addr().String()
	return r
}

// hold makes manifest requests wait until the returned function is called.
func (r *testRegistry) hold() (release func()) {
	g := make(chan struct{})
	r.gate.Store(&g)
	return func() {
		r.gate.Store(nil)
		close(g)
	}
}

// requests is the number of manifest and blob requests answered so far.
func (r *testRegistry) requests() int64 {
	return r.manifestGets.Load() + r.manifestHeads.Load() + r.blobGets.Load()
}

// push writes v (an image or an index) as repo:tag and returns the
// reference by digest in the served registry, repo@sha256:...
func (r *testRegistry) push(t testing.TB, repoTag string, v remote.Taggable) string {
	t.Helper()
	ref, err := name.ParseReference(r.admin + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	switch v := v.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, v)
	case v1.Image:
		err = remote.Write(ref, v)
	}
	if err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	h, err := v.(interface{ Digest() (v1.Hash, error) }).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.host + "/" + ref.Context().RepositoryStr() + "@" + h.String()
}

// image is an image (no layers) whose config runs entrypoint and cmd.
func image(t testing.TB, entrypoint, cmd []string, platform v1.Platform) v1.Image {
	t.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS: platform.OS, Architecture: platform.Architecture, Variant: platform.Variant,
		Config: v1.Config{Entrypoint: entrypoint, Cmd: cmd},
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// index is an image index of imgs, each listed with the platform before it.
func index(imgs ...any) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for i := 0; i+1 < len(imgs); i += 2 {
		p := imgs[i].(v1.Platform)
		adds = append(adds, mutate.IndexAddendum{Add: imgs[i+1].(v1.Image), Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
)
