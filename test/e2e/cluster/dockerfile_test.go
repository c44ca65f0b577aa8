package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// The agent and webhook images the cluster runs are the ones `make images` wrote to
// dist/images, pushed as they are: every platform of each must be the image users
// build from the top-level Dockerfile's target of the same name: one layer on an
// empty base holding the same files, the same user, entrypoint and command. This
// machine's platform must be among them, or the node could not run them.
// hack/e2e.sh runs `make images` first; alone: `make images && cd test/e2e && go test ./cluster/`.
func TestHarnessImagesMatchDockerfile(t *testing.T) {
	stages, err := ParseDockerfile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	built, err := LayoutImages(filepath.Join("..", "..", "..", filepath.FromSlash(LayoutDir)))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{"jobcheck/agent": "agent", "jobcheck/webhook": "webhook"}
	for _, b := range built {
		target := targets[b.Key]
		st, ok := stages[target]
		if !ok {
			t.Errorf("Dockerfile has no %q target for %s", target, b.Name)
			continue
		}
		if st.Base != "scratch" {
			t.Errorf("target %s: FROM %s, the built images have one layer on an empty base", target, st.Base)
		}
		platforms, err := b.Platforms()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range platforms {
			names = append(names, p.Platform)
			where := fmt.Sprintf("%s:%s %s (target %s)", b.Name, b.Tag, p.Platform, target)
			if p.Layers != 1 {
				t.Errorf("%s: %d layers, want one on an empty base", where, p.Layers)
			}
			if !slices.Equal(p.Files, st.Files) {
				t.Errorf("%s: holds %q, the Dockerfile copies %q", where, p.Files, st.Files)
			}
			c := p.Config.Config
			if c.User != st.User || !slices.Equal(c.Entrypoint, st.Entrypoint) || !slices.Equal(c.Cmd, st.Cmd) {
				t.Errorf("%s: user %q entrypoint %q cmd %q; the Dockerfile: USER %q ENTRYPOINT %q CMD %q",
					where, c.User, c.Entrypoint, c.Cmd, st.User, st.Entrypoint, st.Cmd)
			}
			if p.Platform != p.Config.Platform().String() {
				t.Errorf("%s: the config says %s", where, p.Config.Platform())
			}
		}
		if here := "linux/" + runtime.GOARCH; !slices.Contains(names, here) {
			t.Errorf("%s: platforms %v, none is this machine's %s", b.Name, names, here)
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
