//go:build bench

package main

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// An image's size per platform is what a node pulls: its compressed
// layers, its config and its manifest; the other images of the layout do
// not count.
func TestImageSizes(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]imageSize{}
	var agent v1.ImageIndex = empty.Index
	for key, pl := range map[string]v1.Platform{
		"linux/amd64":  {OS: "linux", Architecture: "amd64"},
		"linux/arm/v7": {OS: "linux", Architecture: "arm", Variant: "v7"},
	} {
		img, err := random.Image(1000, 2)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		var s imageSize
		for _, l := range layers {
			n, _ := l.Size()
			s.layer += n
		}
		config, _ := img.RawConfigFile()
		manifest, _ := img.RawManifest()
		s.total = s.layer + int64(len(config)) + int64(len(manifest))
		want[key] = s
		agent = mutate.AppendManifests(agent, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	other, err := random.Index(1000, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, idx := range map[string]v1.ImageIndex{"jobcheck-webhook:v1": other, "jobcheck-agent:v1": agent} {
		if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": name})); err != nil {
			t.Fatal(err)
		}
	}
	got, err := imageSizes(dir, "jobcheck-agent:")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("sizes %v, want %v", got, want)
	}
	for pl, w := range want {
		if got[pl] != w {
			t.Errorf("%s: %+v, want %+v", pl, got[pl], w)
		}
	}
	if _, err := imageSizes(dir, "jobcheck-missing:"); err == nil {
		t.Error("an image the layout does not hold: no error")
	}
	if _, err := imageSizes(t.TempDir(), "jobcheck-agent:"); err == nil {
		t.Error("a directory that holds no layout: no error")
	}
}

func TestBinaryName(t *testing.T) {
	for platform, want := range map[string]string{
		"linux/amd64":  "jobcheck-linux-amd64",
		"linux/arm64":  "jobcheck-linux-arm64",
		"linux/arm/v7": "jobcheck-linux-armv7",
	} {
		if got := binaryName("jobcheck", platform); got != want {
			t.Errorf("binaryName(%q) = %q, want %q (make build's and hack/images' name)", platform, got, want)
		}
	}
}
