package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// annotationRefName names an index in an OCI layout's index.json: here
// REPO:VERSION (jobcheck-agent:v0.2.0), so that one layout holds both images
// and `skopeo copy oci:dist/images:jobcheck-agent:v0.2.0 ...` finds one.
const annotationRefName = "org.opencontainers.image.ref.name"

// named is an image index and its REPO:VERSION name in the layout.
type named struct {
	name string
	idx  v1.ImageIndex
}

// writeLayout writes the indexes as an OCI image layout at dir. An earlier
// layout there is replaced; any other non-empty directory is left alone.
func writeLayout(dir string, indexes []named) error {
	if err := clearLayout(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	for _, n := range indexes {
		if err := p.AppendIndex(n.idx, layout.WithAnnotations(map[string]string{annotationRefName: n.name})); err != nil {
			return fmt.Errorf("write %s to %s: %w", n.name, dir, err)
		}
	}
	// go-containerregistry writes layer blobs 0600 and manifests 0755:
	// make the layout readable by all, like any build output.
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chmod(path, 0o644)
	})
}

// clearLayout removes the OCI layout at dir, so that blobs of earlier builds
// do not pile up; it refuses to remove a directory that holds anything else.
func clearLayout(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("output directory %s is not empty and holds no OCI layout: not replacing it", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the previous layout: %w", err)
	}
	return nil
}

// readLayout returns the named indexes of the OCI layout at dir, in order.
func readLayout(dir string) ([]named, error) {
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	var out []named
	for _, d := range im.Manifests {
		n := d.Annotations[annotationRefName]
		if n == "" || !d.MediaType.IsIndex() {
			continue
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("read %s from %s: %w", n, dir, err)
		}
		out = append(out, named{name: n, idx: idx})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("OCI layout %s holds no named image index: run `images build` first", dir)
	}
	return out, nil
}
