package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// The release the static manifests are rendered as: `helm install jobcheck
// charts/jobcheck --namespace jobcheck-system` gives the same objects.
const (
	releaseName      = "jobcheck"
	releaseNamespace = "jobcheck-system"
)

// kubeVersion is the cluster version rendered for (.Capabilities.KubeVersion,
// checked against Chart.yaml's kubeVersion): the one jobcheck is tested on.
// Set rather than taken from Helm's default, which depends on how the
// binary was built (a test binary's is v1.20).
const kubeVersion = "v1.36.0"

// loadChart reads the chart directory.
func loadChart(dir string) (*chart.Chart, error) {
	c, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return c, nil
}

// render renders c with values over its values.yaml exactly as `helm
// template` does (Helm's install action, client-only dry run): values.schema.json
// is checked, templates run, documents sorted in install order, each with its
// "# Source:" line.
func render(c *chart.Chart, values map[string]any) (string, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = releaseName
	install.Namespace = releaseNamespace
	install.Replace = true // no release store to check the name against
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return "", err
	}
	install.KubeVersion = kv
	// Helm edits the values it is given (a null deletes a key in place):
	// render a copy, so that a variant renders the same every time.
	rel, err := install.Run(c, copyValues(values))
	if err != nil {
		return "", fmt.Errorf("render chart %s: %w", c.Name(), err)
	}
	r, ok := rel.(*release.Release)
	if !ok {
		return "", fmt.Errorf("render chart %s: a %T, want a release", c.Name(), rel)
	}
	if len(r.Hooks) > 0 {
		return "", errors.New("the chart has hooks: `kubectl apply` of the static manifests would not run them")
	}
	return strings.TrimLeft(r.Manifest, "\n"), nil
}

// onlySources keeps the documents of manifest rendered from the given
// templates (as `helm template --show-only`).
func onlySources(manifest string, templates ...string) string {
	var out []string
	for _, doc := range strings.Split(manifest, "---\n") {
		for _, t := range templates {
			if strings.HasPrefix(doc, "# Source: "+t+"\n") {
				out = append(out, doc)
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "---\n" + strings.Join(out, "---\n")
}

// copyValues is a deep copy of values (maps, lists and scalars).
func copyValues(values map[string]any) map[string]any {
	if values == nil {
		return nil
	}
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyValues(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
