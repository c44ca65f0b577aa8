package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushed is an index pushed to a registry.
type pushed struct {
	ref    string // REGISTRY/REPO:VERSION
	digest string
}

// push pushes every named index of the OCI layout at dir to registry (a host
// with an optional path: ghcr.io/me) as REGISTRY/REPO:VERSION, with the
// credentials keychain finds (the docker config's, for
// authn.DefaultKeychain). Loopback and private-network registries are
// reached over plain HTTP (go-containerregistry's rule), any other only when
// insecure is set.
func push(ctx context.Context, dir, registry string, insecure bool, keychain authn.Keychain) ([]pushed, error) {
	indexes, err := readLayout(dir)
	if err != nil {
		return nil, err
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	var out []pushed
	for _, n := range indexes {
		ref, err := name.NewTag(strings.TrimSuffix(registry, "/")+"/"+n.name, opts...)
		if err != nil {
			return out, fmt.Errorf("-registry %q: %w", registry, err)
		}
		if err := remote.WriteIndex(ref, n.idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)); err != nil {
			return out, fmt.Errorf("push %s: %w", ref, err)
		}
		d, err := n.idx.Digest()
		if err != nil {
			return out, fmt.Errorf("push %s: %w", ref, err)
		}
		slog.Info("pushed", "ref", ref.String(), "digest", d.String())
		out = append(out, pushed{ref: ref.String(), digest: d.String()})
	}
	return out, nil
}
