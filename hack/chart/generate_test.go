package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGeneratedFilesAreCurrent: every file generated from the chart (the
// static manifests) and the chart's copy of the alert rules are what
// `go -C hack/chart run . generate` writes now.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for _, f := range files {
		t.Run(f.path, func(t *testing.T) {
			want, err := f.make(root)
			if err != nil {
				t.Fatal(err)
			}
			have, err := os.ReadFile(filepath.Join(root, f.path))
			if err != nil {
				t.Fatalf("%v: run `go -C hack/chart run . generate`", err)
			}
			if !bytes.Equal(have, want) {
				t.Errorf("%s differs from what the chart renders: run `go -C hack/chart run . generate`\n%s", f.path, firstDifference(have, want))
			}
		})
	}
}

// TestTheChartsRulesAreTheRulesFile: the PrometheusRule the chart ships
// carries manifests/prometheus/rules.yaml byte for byte.
func TestTheChartsRulesAreTheRulesFile(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(root, "manifests/prometheus/rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var inChart []byte
	for _, f := range theChart(t).Files {
		if f.Name == "files/rules.yaml" {
			inChart = f.Data
		}
	}
	if !bytes.Equal(inChart, rules) {
		t.Error("charts/jobcheck/files/rules.yaml is not manifests/prometheus/rules.yaml: run `go -C hack/chart run . generate`")
	}
}

// firstDifference shows the first line where have and want differ.
func firstDifference(have, want []byte) string {
	h, w := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(h), len(w)); i++ {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  file:  " + hl + "\n  chart: " + wl
		}
	}
	return ""
}

// TestRenderCommand: `render -out DIR` writes one file per variant, each the
// variant's rendering with its Namespace, and bad invocations exit 2 with
// one line.
func TestRenderCommand(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"render", "-root", root, "-out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("render exited %d: %s", code, stderr.String())
	}
	for _, v := range variants {
		data, err := os.ReadFile(filepath.Join(dir, v.name+".yaml"))
		if err != nil {
			t.Errorf("variant %s: %v", v.name, err)
			continue
		}
		objs := parse(t, string(data))
		if !objs.has("Namespace", "", releaseNamespace) || !objs.has("Deployment", releaseNamespace, "jobcheck-webhook") {
			t.Errorf("variant %s: no Namespace or Deployment in %v", v.name, objs.keys())
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"render", "-root", root}, "-out DIR is required"},
		{[]string{"render", "-root", "/nonexistent"}, "is not the repository root"},
		{[]string{"publish"}, `unknown command "publish"`},
		{[]string{"render", "-bogus"}, "flag provided but not defined: -bogus"},
	} {
		stderr.Reset()
		if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want 2 and one line saying %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
