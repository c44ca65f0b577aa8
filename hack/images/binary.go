package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// compile cross-compiles pkg for p into dir as the Dockerfile does: static
// (CGO_ENABLED=0), -trimpath, and -ldflags "-s -w -X main.version=VERSION".
// The go command runs in the current directory, which must be inside the
// module that holds pkg.
func compile(ctx context.Context, pkg string, p v1.Platform, version, dir string) (string, error) {
	env, err := goEnv(p)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, binaryName(pkg, p))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, pkg)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s for %s: %w\n%s", pkg, platformString(p), err, stderr.Bytes())
	}
	return out, nil
}

// goEnv is the go command's environment for a target platform.
func goEnv(p v1.Platform) ([]string, error) {
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	switch {
	case p.Variant == "":
	case p.Architecture == "arm" && strings.HasPrefix(p.Variant, "v"):
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	default:
		return nil, fmt.Errorf("platform %s: variant %q not supported", platformString(p), p.Variant)
	}
	return env, nil
}

// binaryName is the file name of pkg's binary for p, as `make build` names
// them in bin/: NAME-OS-ARCH, with the variant appended for ARM
// (jobcheck-linux-amd64, jobcheck-linux-armv7).
func binaryName(pkg string, p v1.Platform) string {
	return filepath.Base(pkg) + "-" + p.OS + "-" + p.Architecture + p.Variant
}

// elfMachines maps GOARCH to the ELF machine of its binaries.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// checkBinary makes sure that the file at path runs on an empty base image of
// platform p: an ELF executable for p's machine, statically linked (no
// interpreter, no shared library), and a Go binary built for p's OS,
// architecture and ARM version with cgo off. A binary taken from bin/ may be
// stale or for another platform; an image that cannot start is worse than no
// image.
func checkBinary(path string, p v1.Platform) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	want, ok := elfMachines[p.Architecture]
	if !ok {
		return fmt.Errorf("%s: architecture %q not supported", path, p.Architecture)
	}
	if f.Machine != want {
		return fmt.Errorf("%s: built for %s, want %s (%s)", path, f.Machine, want, platformString(p))
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked (has an interpreter); the image has no libc: build it with CGO_ENABLED=0", path)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("%s: needs shared libraries %v; build it with CGO_ENABLED=0", path, libs)
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: no Go build information: %w", path, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	wantSettings := map[string]string{"GOOS": p.OS, "GOARCH": p.Architecture, "CGO_ENABLED": "0"}
	if p.Architecture == "arm" && p.Variant != "" {
		// Go records GOARM with its float ABI since 1.22 ("7,softfloat"
		// when asked for): the version is what must match.
		v, _, _ := strings.Cut(settings["GOARM"], ",")
		settings["GOARM"] = v
		wantSettings["GOARM"] = strings.TrimPrefix(p.Variant, "v")
	}
	for k, v := range wantSettings {
		if settings[k] != v {
			return fmt.Errorf("%s: built with %s=%q, want %q (%s)", path, k, settings[k], v, platformString(p))
		}
	}
	return nil
}
