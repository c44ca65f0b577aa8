//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"
)

// promOperator is the prometheus-operator release whose CRDs (PrometheusRule,
// ServiceMonitor) the prometheus-operator overlay is validated against.
const promOperator = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

// Scenario 9 (issue 10). Every rendering of the Helm chart (the default values and
// each toggle, as `go -C hack/chart run . render` writes them; the static
// manifests/install*.yaml are two of them) passes `kubectl apply --dry-run=server`
// against the real API server, with the CRDs it needs (cert-manager's, from its Go
// module; prometheus-operator's, from its Go module) installed.
func TestManifestsDryRun(t *testing.T) {
	t.Parallel()
	certManager := goOut(t, env.Root, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	var dl struct{ Dir string }
	if err := json.Unmarshal([]byte(goOut(t, ".", "go", "mod", "download", "-json", promOperator)), &dl); err != nil {
		t.Fatalf("download %s: %v", promOperator, err)
	}
	crds, _ := filepath.Glob(filepath.Join(certManager, "deploy", "crds", "*.yaml"))
	for _, kind := range []string{"prometheusrules", "servicemonitors"} {
		crds = append(crds, filepath.Join(dl.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml"))
	}
	if len(crds) < 8 {
		t.Fatalf("CRDs found: %q; want cert-manager's six and two of prometheus-operator's", crds)
	}
	args := []string{"apply", "--server-side"}
	for _, f := range crds {
		args = append(args, "-f", f)
	}
	kubectl(t, args...)
	kubectl(t, "wait", "--for=condition=established", "--timeout=120s", "crd", "--all")

	dir := t.TempDir()
	goOut(t, env.Root, "go", "-C", "hack/chart", "run", ".", "render", "-out", dir)
	renderings, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(renderings) < 10 {
		t.Fatalf("%d renderings of the chart in %s, want one per toggle", len(renderings), dir)
	}
	for _, file := range renderings {
		variant := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(variant, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rendered := string(b)
			objects := len(namesOf(t, rendered))
			// A server-side dry run cannot create a namespace and fill it in one go: the
			// namespaces exist first, as on a cluster being installed into.
			for _, ns := range namespacesOf(t, rendered) {
				if out, err := kubectlRun("create", "namespace", ns, "--save-config"); err != nil && !strings.Contains(out, "AlreadyExists") {
					t.Fatalf("create namespace %s: %v: %s", ns, err, out)
				}
			}
			out := kubectl(t, "apply", "--dry-run=server", "-f", file, "-o", "name")
			names := strings.Fields(out)
			if len(names) != objects {
				t.Errorf("dry run applied %d objects, the rendering holds %d:\n%s", len(names), objects, out)
			}
			want := []string{"mutatingwebhookconfiguration.admissionregistration.k8s.io/jobcheck", "deployment.apps/jobcheck-webhook"}
			if strings.HasPrefix(variant, "cert-manager") {
				want = append(want, "certificate.cert-manager.io/jobcheck-webhook")
			}
			for _, w := range want {
				if !slices.Contains(names, w) {
					t.Errorf("dry run did not apply %s; it applied:\n%s", w, out)
				}
			}
		})
	}
}

// namesOf lists the kind/name of each object of a rendering.
func namesOf(t *testing.T, rendered string) []string {
	t.Helper()
	var out []string
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
	for {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := dec.Decode(&obj); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("parse rendered manifests: %v", err)
		}
		if obj.Kind != "" {
			out = append(out, obj.Kind+"/"+obj.Metadata.Name)
		}
	}
	return out
}

// namespacesOf lists the namespaces the rendered objects are in or declare.
func namespacesOf(t *testing.T, rendered string) []string {
	t.Helper()
	var out []string
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
	for {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := dec.Decode(&obj); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("parse rendered manifests: %v", err)
		}
		ns := obj.Metadata.Namespace
		if obj.Kind == "Namespace" {
			ns = obj.Metadata.Name
		}
		if ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

// kubectl runs the harness's kubectl against the cluster and fails the test on error.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectlRun(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// kubectlRun returns kubectl's standard output, or its standard error when it fails.
func kubectlRun(args ...string) (string, error) {
	bin := filepath.Join(env.Root, "test", "e2e", "bin", "kubectl")
	if _, err := os.Stat(bin); err != nil {
		bin = "kubectl"
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func goOut(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return strings.TrimSpace(string(out))
}
