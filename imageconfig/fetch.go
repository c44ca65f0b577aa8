package imageconfig

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// platformReads bounds the configs of one image index read at once.
const platformReads = 4

// fetch reads ref from its registry and caches the result. It runs on its
// own context, bounded by FetchTimeout, so a read that outlives the
// Resolve that started it still fills the cache.
func (l *Lookup) fetch(who scope, ref name.Reference) (inject.Image, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.FetchTimeout)
	defer cancel()
	start := l.now()
	defer func() { l.metrics.registry.Observe(l.now().Sub(start).Seconds()) }()

	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(l.keychain(ctx, who)),
		remote.WithTransport(l.transport),
		remote.WithUserAgent("jobcheck-webhook"),
	}
	tag, isTag := ref.(name.Tag)
	if _, seen := l.tags.Peek(who.cacheKey(ref.Name())); isTag && seen {
		// A tag looked up before: its digest alone (a HEAD, which
		// registries such as Docker Hub do not count against pull limits)
		// says whether it moved.
		if d, err := remote.Head(ref, opts...); err == nil {
			if img, ok := l.digests.Get(who.cacheKey(d.Digest.String())); ok {
				l.tags.Add(who.cacheKey(ref.Name()), tagEntry{digest: d.Digest.String(), at: start})
				return img, nil
			}
			ref = tag.Context().Digest(d.Digest.String())
		}
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return inject.Image{}, err // go-containerregistry's names the request and the registry's answer
	}
	img, err := read(desc)
	if err != nil {
		return inject.Image{}, fmt.Errorf("%s: %w", ref, err)
	}
	l.digests.Add(who.cacheKey(desc.Digest.String()), img)
	if isTag {
		l.tags.Add(who.cacheKey(tag.Name()), tagEntry{digest: desc.Digest.String(), at: start})
	}
	return img, nil
}

// keychain is the credentials of who: the pull secrets the kubelet would
// use (the pod's, then its service account's), then Options.Keychain,
// then anonymous. Pull secrets that cannot be read are logged and
// skipped, so a public image is still read.
func (l *Lookup) keychain(ctx context.Context, who scope) authn.Keychain {
	var chain []authn.Keychain
	if l.opts.Client != nil {
		kc, err := kauth.New(ctx, l.opts.Client, kauth.Options{
			Namespace:          who.namespace,
			ServiceAccountName: who.serviceAccount,
			ImagePullSecrets:   who.pullSecrets,
		})
		if err != nil {
			l.log.Warn("image pull secrets not read; trying without them", "namespace", who.namespace,
				"serviceAccount", who.serviceAccount, "pullSecrets", who.pullSecrets, "err", err)
		} else {
			chain = append(chain, kc)
		}
	}
	if l.opts.Keychain != nil {
		chain = append(chain, l.opts.Keychain)
	}
	return authn.NewMultiKeychain(chain...)
}

// read returns what the image or image index desc runs. For an index, it
// reads the config of each linux platform (the others, and attestation
// manifests, cannot run in a jobcheck pod) and returns Platforms only when
// they run different commands.
func read(desc *remote.Descriptor) (inject.Image, error) {
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return inject.Image{}, fmt.Errorf("image manifest: %w", err)
		}
		return config(img)
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return inject.Image{}, fmt.Errorf("image index: %w", err)
		}
		return readIndex(idx)
	default:
		return inject.Image{}, fmt.Errorf("unsupported manifest type %s", desc.MediaType)
	}
}

// readIndex is read for an image index.
func readIndex(idx v1.ImageIndex) (inject.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return inject.Image{}, fmt.Errorf("image index manifest: %w", err)
	}
	var platforms []string
	var digests []v1.Hash
	var others []string
	for _, d := range m.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() {
			continue
		}
		p := contract.Platform(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant)
		if d.Platform.OS != "linux" {
			others = append(others, p)
			continue
		}
		if slices.Contains(platforms, p) {
			continue // the runtime takes the first of a platform
		}
		platforms, digests = append(platforms, p), append(digests, d.Digest)
	}
	if len(platforms) == 0 {
		return inject.Image{}, fmt.Errorf("the image index has no linux image (platforms: %s)", strings.Join(others, ", "))
	}

	images := make([]inject.Image, len(platforms))
	errs := make([]error, len(platforms))
	sem := make(chan struct{}, platformReads)
	var wg sync.WaitGroup
	for i := range platforms {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			img, err := idx.Image(digests[i])
			if err == nil {
				images[i], err = config(img)
			}
			if err != nil {
				errs[i] = fmt.Errorf("platform %s: %w", platforms[i], err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return inject.Image{}, err
		}
	}
	if agree(images) {
		return images[0], nil
	}
	out := inject.Image{Platforms: make(map[string]inject.Image, len(platforms))}
	for i, p := range platforms {
		out.Platforms[p] = images[i]
	}
	return out, nil
}

// config is the ENTRYPOINT and CMD of img's config.
func config(img v1.Image) (inject.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return inject.Image{}, err
	}
	return inject.Image{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd}, nil
}

// agree reports whether every image runs the same ENTRYPOINT and CMD.
func agree(images []inject.Image) bool {
	for _, img := range images[1:] {
		if !slices.Equal(img.Entrypoint, images[0].Entrypoint) || !slices.Equal(img.Cmd, images[0].Cmd) {
			return false
		}
	}
	return true
}
