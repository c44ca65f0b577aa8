package manifests

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The static manifests, generated from the Helm chart (charts/jobcheck) by
// `go -C hack/chart run . generate`; that module's tests fail when they
// differ from the chart. These tests check what users of either rely on.
const (
	install            = "install.yaml"              // the webhook keeps its own certificate
	installCertManager = "install-cert-manager.yaml" // cert-manager issues it
)

var installs = []string{install, installCertManager}

// load reads a multi-document YAML file as `kubectl apply -f` would, and
// fails the test on a document it cannot parse or a duplicate object.
func load(t *testing.T, file string) objects {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := objects{}
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if obj == nil {
			continue
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		data, err := yaml.Marshal(obj)
		if err == nil {
			err = yaml.Unmarshal(data, &head)
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		k := key(head.Kind, head.Metadata.Namespace, head.Metadata.Name)
		if _, dup := out[k]; dup {
			t.Fatalf("%s: two objects %s", file, k)
		}
		out[k] = data
	}
	return out
}

// objects is the output of one kustomization: each object's JSON by its key.
type objects map[string][]byte

// key names an object the way the tests look it up.
func key(kind, namespace, name string) string {
	return fmt.Sprintf("%s %s/%s", kind, namespace, name)
}

// build runs kustomize (the library kubectl -k embeds) on dir, as
// `kubectl apply -k dir` would, and fails the test if it does not build.
func build(t *testing.T, dir string) objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := objects{}
	for _, r := range m.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		k := key(r.GetKind(), r.GetNamespace(), r.GetName())
		if _, dup := out[k]; dup {
			t.Fatalf("kustomize build %s: two objects %s", dir, k)
		}
		out[k] = data
	}
	return out
}

// decode strictly decodes the object kind namespace/name into into: a field
// the Go type does not know (a typo, a wrong indentation) fails the test.
func (o objects) decode(t *testing.T, kind, namespace, name string, into any) {
	t.Helper()
	data, ok := o[key(kind, namespace, name)]
	if !ok {
		t.Fatalf("no %s in the build; have %v", key(kind, namespace, name), o.keys())
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", key(kind, namespace, name), err)
	}
}

// names lists the namespace/name of every object of kind.
func (o objects) names(kind string) []string {
	var out []string
	for k := range o {
		var kd, nn string
		fmt.Sscanf(k, "%s %s", &kd, &nn)
		if kd == kind {
			out = append(out, nn)
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

// show prints an optional field's value, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
