// Package imageconfig reads what container images run (their config's
// ENTRYPOINT and CMD) from their registries, so that jobcheck can wrap a
// container that sets no command exactly as the container runtime would
// start it. It authenticates as the kubelet would pull the image for that
// pod (the pod's and its service account's imagePullSecrets), keeps what it
// read by digest, and answers within a time budget: an image it cannot read
// in time is reported, never waited for (package inject then leaves that
// container unwrapped, with the reason).
package imageconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
	"k8s.io/client-go/kubernetes"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// Defaults of Options.
const (
	// DefaultBudget bounds one Resolve: contract.ImageLookupBudget.
	DefaultBudget = contract.ImageLookupBudget
	// DefaultFetchTimeout bounds a registry read that goes on in the
	// background after its Resolve's budget ran out.
	DefaultFetchTimeout = 30 * time.Second
	// DefaultTagTTL is how long a tag's digest is used without asking the
	// registry again: pods created together (a Job's parallel pods, a
	// CronJob's run and its retries) share one lookup, and a moved tag is
	// seen a minute later at most.
	DefaultTagTTL = time.Minute
	// DefaultCacheSize is how many images (by digest) and tags are kept.
	DefaultCacheSize = 1000
)

// Options configure a Lookup. The zero value looks images up anonymously
// with the defaults above.
type Options struct {
	// Client reads the pull secrets and service accounts named by the pods
	// (get on secrets and serviceaccounts). Nil: no pull secrets are read.
	Client kubernetes.Interface
	// Keychain is asked for credentials after the pod's pull secrets (the
	// offline injector's: authn.DefaultKeychain, the user's docker config).
	// Nil: none. Anonymous access is tried last.
	Keychain authn.Keychain

	// Zero durations and sizes take the defaults above.
	Budget       time.Duration // bound on one Resolve
	FetchTimeout time.Duration // bound on one registry read, in the background past Budget
	TagTTL       time.Duration // how long a tag's digest is trusted
	CacheSize    int           // images (by digest) kept, and tags

	// CAFile is a PEM bundle of certificate authorities trusted besides the
	// system's, for private registries.
	CAFile string
	// Insecure lists registries (host or host:port) that may be reached
	// over plain HTTP. go-containerregistry also falls back to plain HTTP
	// for loopback and private-network (RFC 1918) addresses and *.localhost.
	Insecure []string

	// Registerer receives the lookup's metrics. Nil: not registered.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Lookup reads and caches image configs. It is safe for concurrent use.
type Lookup struct {
	opts      Options
	transport http.RoundTripper
	insecure  map[string]bool
	log       *slog.Logger
	metrics   *metrics
	now       func() time.Time

	// Both caches are keyed by the credentials' scope too (scope.key): an
	// image one namespace may pull never answers a lookup from another
	// whose credentials were not tried (its ENTRYPOINT and CMD would end up
	// in that namespace's pod spec).
	digests *lru.Cache[string, inject.Image] // by scope and manifest or index digest
	tags    *lru.Cache[string, tagEntry]     // by scope and full tag reference
	flight  singleflight.Group               // one registry read per image and credentials
}

// tagEntry is what a tag pointed to, and when the registry said so.
type tagEntry struct {
	digest string
	at     time.Time
}

// New returns a Lookup. Its error names the option that is wrong.
func New(o Options) (*Lookup, error) {
	if o.Budget == 0 {
		o.Budget = DefaultBudget
	}
	if o.FetchTimeout == 0 {
		o.FetchTimeout = max(DefaultFetchTimeout, o.Budget)
	}
	if o.TagTTL == 0 {
		o.TagTTL = DefaultTagTTL
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	switch {
	case o.Budget < 0:
		return nil, fmt.Errorf("image lookup budget %s: want more than zero", o.Budget)
	case o.FetchTimeout < o.Budget:
		return nil, fmt.Errorf("image fetch timeout %s: want at least the budget %s", o.FetchTimeout, o.Budget)
	case o.TagTTL < 0:
		return nil, fmt.Errorf("image tag TTL %s: want more than zero", o.TagTTL)
	case o.CacheSize < 0:
		return nil, fmt.Errorf("image cache size %d: want more than zero", o.CacheSize)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	transport := remote.DefaultTransport.(*http.Transport).Clone()
	if o.CAFile != "" {
		pool, err := loadCAs(o.CAFile)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	insecure := map[string]bool{}
	for _, r := range o.Insecure {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if _, err := name.NewRegistry(r, name.StrictValidation); err != nil || strings.Contains(r, "/") {
			return nil, fmt.Errorf("insecure registry %q: want a host or host:port", r)
		}
		insecure[r] = true
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	digests, _ := lru.New[string, inject.Image](o.CacheSize) // size checked above
	tags, _ := lru.New[string, tagEntry](o.CacheSize)
	return &Lookup{
		opts: o, transport: transport, insecure: insecure, log: o.Log, metrics: m, now: time.Now,
		digests: digests, tags: tags,
	}, nil
}

// loadCAs is the system's certificate pool with the PEM bundle at path added.
func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image registry CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("image registry CA bundle %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// Resolve returns what each of images runs (inject.Images), reading from
// the registry with the credentials the kubelet would use for a pod of
// namespace running as serviceAccount with pullSecrets. It returns within
// the budget: an image it could not read by then has its Err set, and its
// read goes on in the background to fill the cache for the next pod.
func (l *Lookup) Resolve(ctx context.Context, namespace, serviceAccount string, pullSecrets []string, images []string) inject.Images {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Budget)
	defer cancel()
	who := scope{namespace: namespace, serviceAccount: serviceAccount, pullSecrets: pullSecrets}
	out := make(inject.Images, len(images))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, image := range images {
		if slices.Contains(images[:i], image) {
			continue
		}
		wg.Go(func() {
			img := l.resolve(ctx, who, image)
			mu.Lock()
			out[image] = img
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// resolve is Resolve for one image.
func (l *Lookup) resolve(ctx context.Context, who scope, image string) inject.Image {
	ref, err := l.parse(image)
	if err != nil {
		l.metrics.lookups.WithLabelValues(resultError).Inc()
		return inject.Image{Err: err.Error()}
	}
	cached, known, fresh := l.cached(who, ref)
	if fresh {
		l.metrics.lookups.WithLabelValues(resultHit).Inc()
		return cached
	}
	ch := l.flight.DoChan(who.key()+"\x00"+ref.Name(), func() (any, error) {
		return l.fetch(who, ref)
	})
	select {
	case r := <-ch:
		if r.Err == nil {
			l.metrics.lookups.WithLabelValues(resultMiss).Inc()
			return r.Val.(inject.Image)
		}
		err = r.Err
	case <-ctx.Done():
		err = fmt.Errorf("registry did not answer within %s (the lookup goes on in the background for the next pod)", l.opts.Budget)
		if ctxErr := context.Cause(ctx); !errors.Is(ctxErr, context.DeadlineExceeded) {
			err = fmt.Errorf("lookup cancelled: %w", ctxErr)
		}
	}
	if known {
		l.metrics.lookups.WithLabelValues(resultStale).Inc()
		l.log.Warn("image lookup failed; using what the tag pointed to before", "image", image, "err", err)
		return cached
	}
	l.metrics.lookups.WithLabelValues(resultError).Inc()
	l.log.Warn("image lookup failed", "image", image, "namespace", who.namespace, "err", err)
	return inject.Image{Err: err.Error()}
}

// parse reads an image reference as the kubelet does (docker.io and
// :latest implied), allowing plain HTTP for the registries Options.Insecure
// lists.
func (l *Lookup) parse(image string) (name.Reference, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", image, err)
	}
	if l.insecure[ref.Context().RegistryStr()] {
		return name.ParseReference(image, name.Insecure)
	}
	return ref, nil
}

// cached returns what the cache knows of ref: the image, whether it has
// one, and whether it may be used without asking the registry (a digest,
// or a tag resolved less than TagTTL ago).
func (l *Lookup) cached(who scope, ref name.Reference) (img inject.Image, known, fresh bool) {
	if d, ok := ref.(name.Digest); ok {
		img, known = l.digests.Get(who.cacheKey(d.DigestStr()))
		return img, known, known
	}
	e, ok := l.tags.Get(who.cacheKey(ref.Name()))
	if !ok {
		return inject.Image{}, false, false
	}
	img, known = l.digests.Get(who.cacheKey(e.digest))
	return img, known, known && l.now().Sub(e.at) < l.opts.TagTTL
}

// scope is whose credentials a lookup uses: a pod's namespace, service
// account and pull secrets.
type scope struct {
	namespace, serviceAccount string
	pullSecrets               []string
}

// key identifies the credentials of a scope, so concurrent lookups of one
// image share a read only when they would read with the same credentials.
func (s scope) key() string {
	return s.namespace + "\x00" + s.serviceAccount + "\x00" + strings.Join(s.pullSecrets, "\x00")
}

// cacheKey is the cache's key of a digest or tag read with s's credentials.
func (s scope) cacheKey(digestOrTag string) string { return s.key() + "\x00" + digestOrTag }
