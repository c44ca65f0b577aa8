//go:build bench && !e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// TestBenchImage measures figure 8's image: the agent image built in Go the
// way the e2e harness builds it (one layer holding /jobcheck), its size as a
// registry stores it: the gzip-compressed layer plus config and manifest.
// BENCH_AGENT_BIN names the binary (default: bin/jobcheck).
func TestBenchImage(t *testing.T) {
	bin := os.Getenv("BENCH_AGENT_BIN")
	if bin == "" {
		bin = filepath.Join(benchRoot(t), "bin", "jobcheck")
	}
	requireFile(t, bin, "make agent")
	img, err := cluster.AgentImage(bin).Build()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("agent image: want one layer, got %d (%v)", len(layers), err)
	}
	layer, err := layers[0].Size()
	if err != nil {
		t.Fatalf("layer size: %v", err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	res := benchResults{}
	res.add("image/agent/layer", "bytes", float64(layer))
	res.add("image/agent/total", "bytes", float64(layer+int64(len(config))+int64(len(manifest))))
	t.Logf("agent image: layer %d bytes, config %d, manifest %d", layer, len(config), len(manifest))
	res.write(t, "image")
}
