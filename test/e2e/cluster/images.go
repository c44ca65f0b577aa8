package cluster

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageSpec is an image the harness builds without a Docker engine: one layer with
// the listed files and symlinks, and a config.
type ImageSpec struct {
	Repo       string            // repository in the local registry
	Files      map[string]string // path in the image -> file on this machine
	Symlinks   map[string]string // path in the image -> link target
	User       string
	Entrypoint []string
	Cmd        []string
	Env        []string // besides PATH
	Arch       string   // the config's architecture; empty: this machine's
}

func (s ImageSpec) arch() string {
	if s.Arch != "" {
		return s.Arch
	}
	return runtime.GOARCH
}

// Tag is the tag of every image the harness builds.
const Tag = "e2e"

// The agent and webhook images are not built here: the cluster runs the ones
// `make images` built (LayoutImages).

// BusyboxImage is the test jobs' image: Debian's static busybox with a shell.
func BusyboxImage() ImageSpec {
	links := map[string]string{}
	for _, applet := range []string{"sh", "sleep", "echo", "cat", "true", "false", "date", "ls", "id", "env", "touch", "kill"} {
		links["/bin/"+applet] = "busybox"
	}
	return ImageSpec{Repo: "jobcheck/e2e-busybox", Files: map[string]string{"/bin/busybox": "/bin/busybox"},
		Symlinks: links, Cmd: []string{"sh"}}
}

// PauseImage is the pod sandbox image (cmd/pause).
func PauseImage(pauseBin string) ImageSpec {
	return ImageSpec{Repo: "jobcheck/e2e-pause", Files: map[string]string{"/pause": pauseBin},
		User: "65535:65535", Entrypoint: []string{"/pause"}}
}

// The images whose command the webhook must read from the registry (their
// containers set no command): cmd/argv prints the argv it was started with and
// exits with $ARGV_EXIT, so a test can compare a process with and without jobcheck.

// ArgvEntrypointImage has an ENTRYPOINT and a CMD.
func ArgvEntrypointImage(argvBin string) ImageSpec {
	return ImageSpec{Repo: "jobcheck/e2e-argv-entrypoint", Files: map[string]string{"/argv": argvBin},
		Entrypoint: []string{"/argv", "from-entrypoint"}, Cmd: []string{"from-cmd"}}
}

// ArgvCmdImage has only a CMD.
func ArgvCmdImage(argvBin string) ImageSpec {
	return ImageSpec{Repo: "jobcheck/e2e-argv-cmd", Files: map[string]string{"/argv": argvBin},
		Cmd: []string{"/argv", "only-cmd"}}
}

// ArgvMultiArch is an index whose platforms run different entrypoints (the
// arm64 image carries this machine's binary: it is never run here, only read).
func ArgvMultiArch(argvBin string) IndexSpec {
	img := func(arch string) ImageSpec {
		return ImageSpec{Repo: "jobcheck/e2e-argv-multiarch", Files: map[string]string{"/argv": argvBin},
			Entrypoint: []string{"/argv", "entrypoint-" + arch}, Cmd: []string{"cmd-" + arch}, Arch: arch}
	}
	return IndexSpec{Repo: "jobcheck/e2e-argv-multiarch", Images: []ImageSpec{img(runtime.GOARCH), img(otherArch())}}
}

func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// Ref is the image's reference in the registry at addr.
func (s ImageSpec) Ref(addr string) string { return addr + "/" + s.Repo + ":" + Tag }

// Build makes the image: a single layer, os/arch of this machine set in the config
// (containerd ignores an image whose config has none).
func (s ImageSpec) Build() (v1.Image, error) {
	layerTar, err := s.tar()
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: layer: %w", s.Repo, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("image %s: append layer: %w", s.Repo, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", s.Repo, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.arch()
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.User = s.User
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Cmd = s.Cmd
	cf.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, s.Env...)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image %s: set config: %w", s.Repo, err)
	}
	return img, nil
}

// tar writes the layer: parent directories, files (mode 0755, owner root) and symlinks.
func (s ImageSpec) tar() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var names []string
	for p := range s.Files {
		names = append(names, p)
	}
	for p := range s.Symlinks {
		names = append(names, p)
	}
	sort.Strings(names)
	epoch := time.Unix(0, 0)
	for _, p := range names {
		for d := path.Dir(p); d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Repo, err)
		}
	}
	for _, p := range names {
		name := strings.TrimPrefix(p, "/")
		if target, ok := s.Symlinks[p]; ok {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}); err != nil {
				return nil, fmt.Errorf("image %s: %w", s.Repo, err)
			}
			continue
		}
		b, err := os.ReadFile(s.Files[p])
		if err != nil {
			return nil, fmt.Errorf("image %s: file %s: %w", s.Repo, p, err)
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Repo, err)
		}
		if _, err := tw.Write(b); err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Repo, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image %s: %w", s.Repo, err)
	}
	return buf.Bytes(), nil
}
