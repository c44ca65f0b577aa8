package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The images the harness builds must be the images users build from the top-level
// Dockerfile: same files, same user, same entrypoint and command, on an empty base.
func TestHarnessImagesMatchDockerfile(t *testing.T) {
	stages, err := ParseDockerfile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for target, spec := range map[string]ImageSpec{
		"agent":   AgentImage("bin/jobcheck"),
		"webhook": WebhookImage("bin/jobcheck-webhook"),
	} {
		st, ok := stages[target]
		if !ok {
			t.Errorf("Dockerfile has no %q target", target)
			continue
		}
		if st.Base != "scratch" {
			t.Errorf("target %s: FROM %s, harness image is built on an empty base (scratch)", target, st.Base)
		}
		if got, want := st.Files, spec.ImageFiles(); !slices.Equal(got, want) {
			t.Errorf("target %s: Dockerfile copies %q, harness image holds %q", target, got, want)
		}
		if st.User != spec.User {
			t.Errorf("target %s: Dockerfile USER %q, harness image user %q", target, st.User, spec.User)
		}
		if !slices.Equal(st.Entrypoint, spec.Entrypoint) {
			t.Errorf("target %s: Dockerfile ENTRYPOINT %q, harness image %q", target, st.Entrypoint, spec.Entrypoint)
		}
		if !slices.Equal(st.Cmd, spec.Cmd) {
			t.Errorf("target %s: Dockerfile CMD %q, harness image %q", target, st.Cmd, spec.Cmd)
		}
	}
}

// The parser reads what the comparison relies on, whatever the formatting.
func TestParseDockerfile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "Dockerfile")
	src := `# syntax=docker/dockerfile:1
ARG GO=1.26
FROM --platform=$BUILDPLATFORM golang:${GO} AS build
RUN go build \
    -o /out/app .
from scratch as base
user 1000:1000
FROM base AS app
COPY --from=build --chmod=0755 \
     /out/app /usr/bin/
copy ["/out/cfg.json", "/etc/app.json"]
ENTRYPOINT ["/usr/bin/app"]
CMD serve --port 1
`
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	stages, err := ParseDockerfile(f)
	if err != nil {
		t.Fatal(err)
	}
	app := stages["app"]
	if app == nil {
		t.Fatalf("no stage app in %v", stages)
	}
	if app.Base != "base" || app.User != "1000:1000" {
		t.Errorf("base %q user %q, want base and 1000:1000 (inherited)", app.Base, app.User)
	}
	if want := []string{"/etc/app.json", "/usr/bin/app"}; !slices.Equal(app.Files, want) {
		t.Errorf("files %q, want %q", app.Files, want)
	}
	if want := []string{"/usr/bin/app"}; !slices.Equal(app.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", app.Entrypoint, want)
	}
	if want := []string{"/bin/sh", "-c", "serve --port 1"}; !slices.Equal(app.Cmd, want) {
		t.Errorf("cmd %q, want %q", app.Cmd, want)
	}
	if stages["build"] == nil || stages["build"].Base != "golang:${GO}" {
		t.Errorf("stage build: %+v", stages["build"])
	}
}
