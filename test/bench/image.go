//go:build bench

package main

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/jobcheck/jobcheck/contract"
)

// imageSize is what a node pulls for one platform of an image: the
// compressed layers, plus the config and the manifest.
type imageSize struct{ layer, total int64 }

// imageSizes reads the OCI image layout at dir (hack/images' output) and
// returns, per platform, the size of the image index named with prefix
// ("jobcheck-agent:") in the layout's org.opencontainers.image.ref.name.
func imageSizes(dir, prefix string) (map[string]imageSize, error) {
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	top, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	for _, d := range top.Manifests {
		if !strings.HasPrefix(d.Annotations["org.opencontainers.image.ref.name"], prefix) {
			continue
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", prefix, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", prefix, err)
		}
		sizes := map[string]imageSize{}
		for _, m := range im.Manifests {
			if m.Platform == nil {
				continue
			}
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", prefix, m.Digest, err)
			}
			layers, err := img.Layers()
			if err != nil {
				return nil, fmt.Errorf("%s %s: layers: %w", prefix, m.Digest, err)
			}
			var s imageSize
			for _, l := range layers {
				n, err := l.Size() // compressed, as stored and pulled
				if err != nil {
					return nil, fmt.Errorf("%s %s: layer size: %w", prefix, m.Digest, err)
				}
				s.layer += n
			}
			config, err := img.RawConfigFile()
			if err != nil {
				return nil, fmt.Errorf("%s %s: config: %w", prefix, m.Digest, err)
			}
			s.total = s.layer + int64(len(config)) + m.Size
			sizes[contract.Platform(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant)] = s
		}
		if len(sizes) == 0 {
			return nil, fmt.Errorf("%s in %s: no platform image", prefix, dir)
		}
		return sizes, nil
	}
	return nil, fmt.Errorf("OCI layout %s: no image index named %s...", dir, prefix)
}
