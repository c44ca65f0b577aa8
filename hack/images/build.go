package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// defaultPath and workingDir are what BuildKit writes into the config of
// an image built from scratch (dockerfile2llb's emptyImage); set too, so
// that both builds describe the same image.
const (
	defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	workingDir  = "/"
)

// annotationVersion is the OCI annotation holding the version an index was
// built from.
const annotationVersion = "org.opencontainers.image.version"

// layer is an image's only layer: the binary at file, mode 0755, owned by
// root, dated created. gzip at its best compression: the agent image is
// pulled by the init container of every job pod.
func layer(binary, file string, created time.Time) (v1.Layer, error) {
	b, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(file, "/"),
		Mode:     0o755,
		Size:     int64(len(b)),
		ModTime:  created,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("layer %s: %w", file, err)
	}
	if _, err := tw.Write(b); err != nil {
		return nil, fmt.Errorf("layer %s: %w", file, err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer %s: %w", file, err)
	}
	tb := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tb)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithCompressedCaching)
}

// platformImage is im for platform p with binary as its file: OCI media
// types, the config the Dockerfile's target declares, every date created.
func platformImage(im image, binary string, p v1.Platform, created time.Time) (v1.Image, error) {
	l, err := layer(binary, im.file, created)
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     l,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "COPY " + im.file + " (hack/images)",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("image %s %s: %w", im.repo, platformString(p), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s %s: config: %w", im.repo, platformString(p), err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: created}
	cf.Config.User = im.user
	cf.Config.Entrypoint = im.entrypoint
	cf.Config.Cmd = im.cmd
	cf.Config.Env = []string{defaultPath}
	cf.Config.WorkingDir = workingDir
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image %s %s: config: %w", im.repo, platformString(p), err)
	}
	return img, nil
}

// index is the multi-platform OCI image index of im, one image per
// platform, binaries[i] being the binary for im.platforms[i], in that order.
func index(im image, binaries []string, version string, created time.Time) (v1.ImageIndex, error) {
	if len(binaries) != len(im.platforms) {
		return nil, fmt.Errorf("image %s: %d binaries for %d platforms", im.repo, len(binaries), len(im.platforms))
	}
	var adds []mutate.IndexAddendum
	for i, p := range im.platforms {
		img, err := platformImage(im, binaries[i], p, created)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &p,
			},
		})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.Annotations(idx, map[string]string{annotationVersion: version}).(v1.ImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}
