package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// root is the repository root, seen from this package.
const root = "../.."

var loaded struct {
	once  sync.Once
	chart *chart.Chart
	err   error
}

// theChart loads charts/jobcheck once for the package.
func theChart(t *testing.T) *chart.Chart {
	t.Helper()
	loaded.once.Do(func() { loaded.chart, loaded.err = loadChart(filepath.Join(root, "charts/jobcheck")) })
	if loaded.err != nil {
		t.Fatal(loaded.err)
	}
	return loaded.chart
}

// objects are the documents of a manifest, each as JSON, by "Kind namespace/name".
type objects map[string][]byte

func key(kind, namespace, name string) string { return fmt.Sprintf("%s %s/%s", kind, namespace, name) }

// parse splits a rendered manifest into objects, failing on a duplicate.
func parse(t *testing.T, manifest string) objects {
	t.Helper()
	out := objects{}
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("parse rendered manifest: %v", err)
		}
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		kind, _ := obj["kind"].(string)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		data, err := sigsyaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		k := key(kind, ns, name)
		if _, dup := out[k]; dup {
			t.Fatalf("two objects %s", k)
		}
		out[k] = data
	}
	return out
}

// renderObjects renders the chart with values and parses the result.
func renderObjects(t *testing.T, values map[string]any) objects {
	t.Helper()
	m, err := render(theChart(t), values)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, m)
}

// decode strictly decodes object kind namespace/name into into: a field its
// Go type does not know (a typo, a wrong indentation) fails the test.
func (o objects) decode(t *testing.T, kind, namespace, name string, into any) {
	t.Helper()
	data, ok := o[key(kind, namespace, name)]
	if !ok {
		t.Fatalf("no %s rendered; have %v", key(kind, namespace, name), o.keys())
	}
	if err := sigsyaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", key(kind, namespace, name), err)
	}
}

func (o objects) has(kind, namespace, name string) bool {
	_, ok := o[key(kind, namespace, name)]
	return ok
}

// kinds lists "Kind namespace/name" of every object of kind.
func (o objects) kinds(kind string) []string {
	var out []string
	for k := range o {
		if strings.HasPrefix(k, kind+" ") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (o objects) keys() []string {
	out := make([]string, 0, len(o))
	for k := range o {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// deployment returns the webhook Deployment and its container.
func (o objects) deployment(t *testing.T) (appsv1.Deployment, corev1.Container) {
	t.Helper()
	var d appsv1.Deployment
	o.decode(t, "Deployment", releaseNamespace, "jobcheck-webhook", &d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

// flags are a container's "--name=value" args after the command, by name.
func flags(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, a := range c.Args[1:] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		out[name] = value
	}
	return out
}

// env is a container's environment by name.
func env(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}
