package cluster

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is go-containerregistry's in-memory registry served over plain HTTP on
// 127.0.0.1: the node pulls every image from it.
type Registry struct {
	Addr string
	srv  *http.Server
}

// ServeRegistry starts a registry on addr ("127.0.0.1:0" for any free port).
func ServeRegistry(addr string) (*Registry, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("registry: %v", err)
		}
	}()
	return &Registry{Addr: ln.Addr().String(), srv: srv}, nil
}

// Push builds each image and pushes it; it returns the references by repository.
func (r *Registry) Push(specs ...ImageSpec) (map[string]string, error) {
	refs := map[string]string{}
	for _, s := range specs {
		img, err := s.Build()
		if err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(s.Ref(r.Addr), name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("image %s: reference: %w", s.Repo, err)
		}
		if err := remote.Write(ref, img); err != nil {
			return nil, fmt.Errorf("push %s: %w", ref, err)
		}
		refs[s.Repo] = ref.String()
	}
	return refs, nil
}

// Close stops serving.
func (r *Registry) Close() error { return r.srv.Close() }
