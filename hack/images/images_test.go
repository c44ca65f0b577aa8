package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hello stands in for jobcheck's binaries: compiling the real ones for five
// platforms takes minutes; the code that compiles, checks and packages them
// is the same.
const hello = "github.com/jobcheck/jobcheck/hack/images/testdata/hello"

// testImages are the real images with hello as their binary.
func testImages() []image {
	ims := slices.Clone(images)
	for i := range ims {
		ims[i].pkg = hello
	}
	return ims
}

// dockerfile is the repository's Dockerfile, parsed.
func dockerfile(t *testing.T) map[string]*stage {
	t.Helper()
	stages, err := parseDockerfile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return stages
}

func TestImagesAreTheDockerfileTargets(t *testing.T) {
	stages := dockerfile(t)
	for _, im := range images {
		s := stages[im.target]
		if s == nil {
			t.Fatalf("Dockerfile has no target %q", im.target)
		}
		if s.base != "scratch" {
			t.Errorf("target %s is FROM %s; the images are built on an empty base", im.target, s.base)
		}
		if !slices.Equal(s.files, []string{im.file}) || s.user != im.user ||
			!slices.Equal(s.entrypoint, im.entrypoint) || !slices.Equal(s.cmd, im.cmd) {
			t.Errorf("image %s: files %v, user %q, entrypoint %q, cmd %q; Dockerfile target %s: files %v, user %q, entrypoint %q, cmd %q",
				im.repo, []string{im.file}, im.user, im.entrypoint, im.cmd, im.target, s.files, s.user, s.entrypoint, s.cmd)
		}
		out, err := exec.Command("go", "list", "-e", "-f", "{{.Name}}", im.pkg).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "main" {
			t.Errorf("image %s: package %s is not a command: %s %v", im.repo, im.pkg, out, err)
		}
	}
}

// elfMachine is the machine each GOARCH's binaries must declare, written
// apart from the code under test.
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM}

func TestBuild(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := buildOptions{version: "v9.8.7-test", out: filepath.Join(t.TempDir(), "images"), created: created}
	if _, err := build(context.Background(), o, testImages()); err != nil {
		t.Fatal(err)
	}
	got, err := readLayout(o.out)
	if err != nil {
		t.Fatal(err)
	}
	stages := dockerfile(t)
	if len(got) != len(images) {
		t.Fatalf("layout holds %d indexes, want %d", len(got), len(images))
	}
	for i, im := range images {
		if want := im.repo + ":" + o.version; got[i].name != want {
			t.Errorf("index %d is named %q, want %q", i, got[i].name, want)
		}
		checkIndex(t, got[i].idx, im, stages[im.target], o)
	}

	// Reproducible: the same sources and date give the same digests.
	again := o
	again.out = filepath.Join(t.TempDir(), "images")
	if _, err := build(context.Background(), again, testImages()); err != nil {
		t.Fatal(err)
	}
	a, errA := os.ReadFile(filepath.Join(o.out, "index.json"))
	b, errB := os.ReadFile(filepath.Join(again.out, "index.json"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("two builds differ:\n%s\n%s (%v %v)", a, b, errA, errB)
	}
}

// checkIndex checks an image index against the image it should hold and its
// Dockerfile target.
func checkIndex(t *testing.T, idx v1.ImageIndex, im image, s *stage, o buildOptions) {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || m.Annotations[annotationVersion] != o.version {
		t.Errorf("%s: index media type %s, annotations %v", im.repo, m.MediaType, m.Annotations)
	}
	var platforms []v1.Platform
	for _, d := range m.Manifests {
		if d.Platform == nil {
			t.Fatalf("%s: manifest %s has no platform", im.repo, d.Digest)
		}
		p := *d.Platform
		platforms = append(platforms, p)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, p, im.repo, s, o)
	}
	if !slices.EqualFunc(platforms, im.platforms, func(a, b v1.Platform) bool { return a.Equals(b) }) {
		t.Errorf("%s: platforms %v, want %v", im.repo, platforms, im.platforms)
	}
}

// checkImage checks one platform's image: its config, and its single layer
// holding only the Dockerfile's file, for the right machine.
func checkImage(t *testing.T, img v1.Image, p v1.Platform, repo string, s *stage, o buildOptions) {
	t.Helper()
	where := repo + " " + platformString(p)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture || cf.Variant != p.Variant {
		t.Errorf("%s: config platform %s/%s/%s", where, cf.OS, cf.Architecture, cf.Variant)
	}
	if cf.Config.User != s.user || !slices.Equal(cf.Config.Entrypoint, s.entrypoint) || !slices.Equal(cf.Config.Cmd, s.cmd) {
		t.Errorf("%s: user %q entrypoint %q cmd %q; Dockerfile: %q %q %q", where,
			cf.Config.User, cf.Config.Entrypoint, cf.Config.Cmd, s.user, s.entrypoint, s.cmd)
	}
	if !cf.Created.Time.Equal(o.created) {
		t.Errorf("%s: created %s, want %s", where, cf.Created.Time, o.created)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%s: %d layers, want 1", where, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var files []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: layer: %v", where, err)
		}
		files = append(files, "/"+h.Name)
		if h.Typeflag != tar.TypeReg || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(o.created) {
			t.Errorf("%s: %s: type %c mode %o owner %d:%d time %s; want a regular file, 0755, root, %s",
				where, h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime, o.created)
		}
		bin := filepath.Join(t.TempDir(), filepath.Base(h.Name))
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		checkMachine(t, where, bin, p, o.version)
	}
	if !slices.Equal(files, s.files) {
		t.Errorf("%s: layer holds %v, Dockerfile copies %v", where, files, s.files)
	}
}

// checkMachine checks that bin is a static executable for p, and runs it
// when it is for this machine: it prints the version it was built with.
func checkMachine(t *testing.T, where, bin string, p v1.Platform, version string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	defer f.Close()
	if f.Machine != elfMachine[p.Architecture] || f.Type != elf.ET_EXEC {
		t.Errorf("%s: ELF %s %s, want an executable for %s", where, f.Type, f.Machine, elfMachine[p.Architecture])
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked", where)
		}
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, s := range info.Settings {
		if s.Key == "GOARM" && p.Variant != "v"+strings.SplitN(s.Value, ",", 2)[0] {
			t.Errorf("%s: GOARM=%s", where, s.Value)
		}
		if s.Key == "-ldflags" && !strings.Contains(s.Value, "-s -w") {
			t.Errorf("%s: -ldflags %q: not stripped", where, s.Value)
		}
		if s.Key == "-trimpath" && s.Value != "true" {
			t.Errorf("%s: built without -trimpath", where)
		}
	}
	if p.OS == runtime.GOOS && p.Architecture == runtime.GOARCH {
		out, err := exec.Command(bin).Output()
		if err != nil || strings.TrimSpace(string(out)) != version {
			t.Errorf("%s: prints %q (%v), want the version %q", where, out, err, version)
		}
	}
}

var (
	prebuiltOnce sync.Once
	prebuiltDir  string
	prebuiltErr  error
)

// prebuilt is a directory of hello binaries named as `make build` names the
// real ones (jobcheck-linux-armv7, jobcheck-webhook-linux-arm64, ...).
func prebuilt(t *testing.T) string {
	t.Helper()
	prebuiltOnce.Do(func() {
		prebuiltDir, prebuiltErr = os.MkdirTemp("", "images-test-bin-")
		if prebuiltErr != nil {
			return
		}
		for _, im := range images {
			for _, p := range im.platforms {
				var bin string
				if bin, prebuiltErr = compile(context.Background(), hello, p, "v1-bin", prebuiltDir); prebuiltErr != nil {
					return
				}
				if prebuiltErr = os.Rename(bin, filepath.Join(prebuiltDir, binaryName(im.pkg, p))); prebuiltErr != nil {
					return
				}
			}
		}
	})
	if prebuiltErr != nil {
		t.Fatal(prebuiltErr)
	}
	return prebuiltDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if prebuiltDir != "" {
		os.RemoveAll(prebuiltDir)
	}
	os.Exit(code)
}

func TestBuildFromBin(t *testing.T) {
	bin := prebuilt(t)
	o := buildOptions{version: "v1-bin", out: filepath.Join(t.TempDir(), "images"), bin: bin, created: time.Unix(0, 0).UTC()}
	if _, err := build(context.Background(), o, images); err != nil {
		t.Fatal(err)
	}
	got, err := readLayout(o.out)
	if err != nil {
		t.Fatal(err)
	}
	stages := dockerfile(t)
	for i, im := range images {
		checkIndex(t, got[i].idx, im, stages[im.target], o)
	}
}

// copyFile copies src to dst, executable.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestBuildRefusesWrongBinaries(t *testing.T) {
	bin := prebuilt(t)
	agent := images[0]
	amd64 := binaryName(agent.pkg, linuxAMD64)
	arm64 := binaryName(agent.pkg, linuxARM64)
	armv7 := binaryName(agent.pkg, linuxARMv7)

	armv6Dir := t.TempDir()
	t.Setenv("GOARM", "6")
	armv6, err := compile(context.Background(), hello, v1.Platform{OS: "linux", Architecture: "arm"}, "v", armv6Dir)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		replace string // the binary replaced
		with    string // by this file; empty: removed
		want    string
	}{
		{"missing", amd64, "", amd64 + ": no such file or directory"},
		{"another machine", amd64, filepath.Join(bin, arm64), "built for EM_AARCH64, want EM_X86_64"},
		{"another ARM version", armv7, armv6, `GOARM="6", want "7"`},
		{"not an executable", arm64, "../../Dockerfile", "not an ELF executable"},
	}
	if dynamic := "/bin/true"; isDynamic(dynamic) {
		tests = append(tests, struct{ name, replace, with, want string }{"dynamically linked", amd64, dynamic, "dynamically linked"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, im := range images {
				for _, p := range im.platforms {
					n := binaryName(im.pkg, p)
					switch {
					case n != tt.replace:
						copyFile(t, filepath.Join(bin, n), filepath.Join(dir, n))
					case tt.with != "":
						copyFile(t, tt.with, filepath.Join(dir, n))
					}
				}
			}
			out := filepath.Join(t.TempDir(), "images")
			_, err := build(context.Background(), buildOptions{version: "v1", out: out, bin: dir}, images)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed build left %s behind (%v)", out, err)
			}
		})
	}
}

// isDynamic says whether the file at path is a dynamically linked ELF executable.
func isDynamic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
}

func TestBuildReplacesOnlyALayout(t *testing.T) {
	bin := prebuilt(t)
	out := t.TempDir()
	precious := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(precious, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := buildOptions{version: "v1", out: out, bin: bin}
	if _, err := build(context.Background(), o, images); err == nil || !strings.Contains(err.Error(), "holds no OCI layout") {
		t.Fatalf("err = %v, want a refusal to replace %s", err, out)
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("the directory's file is gone: %v", err)
	}

	// An earlier layout is replaced: its blobs do not pile up.
	o.out = filepath.Join(t.TempDir(), "images")
	if _, err := build(context.Background(), o, images); err != nil {
		t.Fatal(err)
	}
	blobs := func() int {
		e, err := os.ReadDir(filepath.Join(o.out, "blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	n := blobs()
	o.version = "v2"
	if _, err := build(context.Background(), o, images); err != nil {
		t.Fatal(err)
	}
	if got, err := readLayout(o.out); err != nil || len(got) != 2 || got[0].name != "jobcheck-agent:v2" {
		t.Fatalf("rebuilt layout: %v %v", got, err)
	}
	if blobs() != n {
		t.Errorf("rebuilt layout holds %d blobs, the first %d", blobs(), n)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string // SOURCE_DATE_EPOCH
		want string
	}{
		{"no command", nil, "", "usage: images build"},
		{"unknown command", []string{"publish"}, "", `images: unknown command "publish": want build or push` + "\n"},
		{"bad flag", []string{"build", "-platform", "x"}, "", "images: flag provided but not defined: -platform\n"},
		{"extra argument", []string{"build", "now"}, "", `images: unexpected argument "now"` + "\n"},
		{"bad version", []string{"build", "-version", "v1/2"}, "", `images: -version "v1/2": not a valid image tag` + "\n"},
		{"bad date", []string{"build"}, "yesterday", `images: SOURCE_DATE_EPOCH="yesterday": want Unix seconds` + "\n"},
		{"push without registry", []string{"push"}, "", "images: -registry is required\n"},
		{"push to a bad registry", []string{"push", "-registry", "Bad Host"}, "", `images: -registry "Bad Host": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.env)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.HasPrefix(stderr.String(), tt.want) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.want)
			}
			if strings.HasPrefix(tt.want, "images:") && (strings.Count(stderr.String(), "\n") != 1 || stdout.Len() > 0) {
				t.Errorf("stderr %q, stdout %q: want one line on stderr", stderr.String(), stdout.String())
			}
		})
	}
	for _, cmd := range []string{"build", "push"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{cmd, "-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "-registry") {
			t.Errorf("%s -h: exit %d, stdout %q: want 0 and the usage", cmd, code, stdout.String())
		}
	}
}
