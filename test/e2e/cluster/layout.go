package cluster

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// The agent and webhook images the cluster runs are the ones `make images`
// builds (hack/images): multi-platform OCI image indexes in an OCI image
// layout, each named REPO:VERSION by the annotation below. The harness pushes
// them to its registry as `make push REGISTRY=<registry>/jobcheck` would.

// annotationRefName names an index in the layout's index.json (hack/images).
const annotationRefName = "org.opencontainers.image.ref.name"

// LayoutDir is where `make images` writes the layout, relative to the repository.
const LayoutDir = "dist/images"

// layoutRepos maps the layout's image names to their keys in Env.Images.
var layoutRepos = map[string]string{"jobcheck-agent": "jobcheck/agent", "jobcheck-webhook": "jobcheck/webhook"}

// BuiltImage is one image index of the layout.
type BuiltImage struct {
	Key   string // jobcheck/agent or jobcheck/webhook: its key in Env.Images
	Name  string // jobcheck-agent, jobcheck-webhook
	Tag   string // the version it was built as
	Index v1.ImageIndex
}

// Repo is its repository in the harness's registries: jobcheck/NAME.
func (b BuiltImage) Repo() string { return "jobcheck/" + b.Name }

// Ref is its reference in the registry at addr.
func (b BuiltImage) Ref(addr string) string { return addr + "/" + b.Repo() + ":" + b.Tag }

// LayoutImages reads the agent and webhook indexes from the OCI layout at dir.
func LayoutImages(dir string) ([]BuiltImage, error) {
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read the images `make images` built (OCI layout %s; run `make images`): %w", dir, err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	var out []BuiltImage
	for _, d := range im.Manifests {
		name, tag, ok := strings.Cut(d.Annotations[annotationRefName], ":")
		key, known := layoutRepos[name]
		if !ok || !known || !d.MediaType.IsIndex() {
			continue
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("read %s:%s from %s: %w", name, tag, dir, err)
		}
		out = append(out, BuiltImage{Key: key, Name: name, Tag: tag, Index: idx})
	}
	if len(out) != len(layoutRepos) {
		return nil, fmt.Errorf("OCI layout %s holds %d of the images %v: run `make images`", dir, len(out), layoutRepos)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PlatformImage is one platform's image of an index, as a registry client
// sees it: its platform, config and the paths its layers hold.
type PlatformImage struct {
	Platform string // os/arch[/variant]
	Digest   v1.Hash
	Config   *v1.ConfigFile
	Layers   int
	Files    []string // absolute paths of regular files and links, sorted
}

// Platforms reads every platform's image of the index.
func (b BuiltImage) Platforms() ([]PlatformImage, error) {
	im, err := b.Index.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: index manifest: %w", b.Name, err)
	}
	var out []PlatformImage
	for _, d := range im.Manifests {
		if d.Platform == nil {
			return nil, fmt.Errorf("%s: manifest %s has no platform", b.Name, d.Digest)
		}
		img, err := b.Index.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", b.Name, d.Platform, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("%s %s: config: %w", b.Name, d.Platform, err)
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("%s %s: layers: %w", b.Name, d.Platform, err)
		}
		p := PlatformImage{Platform: d.Platform.String(), Digest: d.Digest, Config: cf, Layers: len(layers)}
		for _, l := range layers {
			files, err := layerFiles(l)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", b.Name, d.Platform, err)
			}
			p.Files = append(p.Files, files...)
		}
		sort.Strings(p.Files)
		out = append(out, p)
	}
	return out, nil
}

// layerFiles lists the regular files and links of a layer (not directories).
func layerFiles(l v1.Layer) ([]string, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read layer: %w", err)
		}
		if h.Typeflag != tar.TypeDir {
			out = append(out, path.Clean("/"+h.Name))
		}
	}
}

// layoutPath is the layout of the repository at root.
func layoutPath(root string) string { return filepath.Join(root, filepath.FromSlash(LayoutDir)) }
