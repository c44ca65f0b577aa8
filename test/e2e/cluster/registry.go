package cluster

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is go-containerregistry's in-memory registry on 127.0.0.1: the node pulls
// every image from one. By default it serves plain HTTP to anyone; RegistryOptions
// make it ask for credentials (an imagePullSecret) or serve HTTPS with a certificate
// of a private CA, as the registries the webhook's image lookup must read do.
type Registry struct {
	Addr string
	o    RegistryOptions
	srv  *http.Server
}

// RegistryOptions say how a registry is served.
type RegistryOptions struct {
	User, Password string      // set: every request needs HTTP basic auth with these
	TLS            *tls.Config // set: HTTPS with this server certificate
	CA             []byte      // the PEM CA the TLS certificate verifies against (for pushing)
}

// Scheme is "https" for a TLS registry, else "http".
func (r *Registry) Scheme() string {
	if r.o.TLS != nil {
		return "https"
	}
	return "http"
}

// ServeRegistry starts an anonymous plain-HTTP registry on addr ("127.0.0.1:0" for any free port).
func ServeRegistry(addr string) (*Registry, error) { return ServeRegistryWith(addr, RegistryOptions{}) }

// ServeRegistryWith starts a registry on addr as o says.
func ServeRegistryWith(addr string, o RegistryOptions) (*Registry, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry listen on %s: %w", addr, err)
	}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if o.User != "" {
		h = basicAuth(h, o.User, o.Password)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: o.TLS}
	go func() {
		var err error
		if o.TLS != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("registry: %v", err)
		}
	}()
	return &Registry{Addr: ln.Addr().String(), o: o, srv: srv}, nil
}

// basicAuth answers 401 with a Basic challenge, as a registry that needs
// credentials does (the Docker registry protocol's "Basic" realm), until the
// request carries the right ones.
func basicAuth(h http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="jobcheck-e2e"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (r *Registry) remoteOptions() []remote.Option {
	opts := []remote.Option{}
	if r.o.User != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.o.User, Password: r.o.Password}))
	}
	if r.o.TLS != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(r.o.CA)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		opts = append(opts, remote.WithTransport(tr))
	}
	return opts
}

func (r *Registry) ref(s string) (name.Reference, error) {
	if r.o.TLS != nil {
		return name.ParseReference(s)
	}
	return name.ParseReference(s, name.Insecure)
}

// Push builds each image and pushes it; it returns the references by repository.
func (r *Registry) Push(specs ...ImageSpec) (map[string]string, error) {
	refs := map[string]string{}
	for _, s := range specs {
		img, err := s.Build()
		if err != nil {
			return nil, err
		}
		ref, err := r.ref(s.Ref(r.Addr))
		if err != nil {
			return nil, fmt.Errorf("image %s: reference: %w", s.Repo, err)
		}
		if err := remote.Write(ref, img, r.remoteOptions()...); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref, err)
		}
		refs[s.Repo] = ref.String()
	}
	return refs, nil
}

// IndexSpec is a multi-platform image: one image per platform under one tag.
type IndexSpec struct {
	Repo   string
	Images []ImageSpec // each with its Arch set
}

// Ref is the index's reference in the registry at addr.
func (s IndexSpec) Ref(addr string) string { return addr + "/" + s.Repo + ":" + Tag }

// PushIndex builds the index and pushes it; it returns its reference.
func (r *Registry) PushIndex(s IndexSpec) (string, error) {
	var idx v1.ImageIndex = empty.Index
	for _, spec := range s.Images {
		img, err := spec.Build()
		if err != nil {
			return "", err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: spec.arch()},
		}})
	}
	ref, err := r.ref(s.Ref(r.Addr))
	if err != nil {
		return "", fmt.Errorf("index %s: reference: %w", s.Repo, err)
	}
	if err := remote.WriteIndex(ref, idx, r.remoteOptions()...); err != nil {
		return "", fmt.Errorf("push index %s: %w", ref, err)
	}
	return ref.String(), nil
}

// PushBuilt pushes an index `make images` built as b.Ref(r.Addr), as `make push`
// would; it returns its reference.
func (r *Registry) PushBuilt(b BuiltImage) (string, error) {
	ref, err := r.ref(b.Ref(r.Addr))
	if err != nil {
		return "", fmt.Errorf("image %s: reference: %w", b.Name, err)
	}
	if err := remote.WriteIndex(ref, b.Index, r.remoteOptions()...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return ref.String(), nil
}

// Close stops serving.
func (r *Registry) Close() error { return r.srv.Close() }
