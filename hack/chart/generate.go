package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// A generated file is written from the chart (or, for the chart's copy of
// the alert rules, into it); the tests fail when one differs from what this
// program would write.
type generated struct {
	path string // from the repository root
	make func(root string) ([]byte, error)
}

// header starts every manifest rendered from the chart.
const header = `# Generated from the Helm chart charts/jobcheck by ` + "`go -C hack/chart run . generate`" + `:
# edit the chart, not this file. %s
`

// files are the generated files, in the order they are made: the rules copy
// first, since the chart renders it.
var files = []generated{
	{path: "charts/jobcheck/files/rules.yaml", make: func(root string) ([]byte, error) {
		return os.ReadFile(filepath.Join(root, "manifests/prometheus/rules.yaml"))
	}},
	{path: "manifests/install.yaml", make: manifest(nil, "The same objects as\n# `helm install jobcheck charts/jobcheck --namespace jobcheck-system --create-namespace`:\n# the webhook keeps its own serving certificate (no cert-manager needed).")},
	{path: "manifests/install-cert-manager.yaml", make: manifest(map[string]any{"certManager": map[string]any{"enabled": true}},
		"The same objects as\n# `helm install jobcheck charts/jobcheck --namespace jobcheck-system --create-namespace --set certManager.enabled=true`:\n# cert-manager issues the serving certificate (it must be installed first).")},
	{path: "manifests/prometheus/servicemonitor.yaml", make: onlyTemplate(map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
		"servicemonitor.yaml", "The chart's ServiceMonitor\n# (serviceMonitor.enabled=true), for the webhook installed from install.yaml.")},
	{path: "manifests/prometheus/prometheusrule.yaml", make: onlyTemplate(map[string]any{"prometheusRule": map[string]any{"enabled": true, "namespace": "monitoring"}},
		"prometheusrule.yaml", "The chart's PrometheusRule\n# (prometheusRule.enabled=true, prometheusRule.namespace=monitoring): the rules of\n# manifests/prometheus/rules.yaml for prometheus-operator. Add the labels your Prometheus's\n# ruleSelector wants (kube-prometheus-stack: release: <its release name>).")},
	{path: "manifests/examples/networkpolicy.yaml", make: onlyTemplate(map[string]any{"networkPolicy": map[string]any{"jobNamespaces": []any{"example"}}},
		"networkpolicy.yaml", "The chart's NetworkPolicy\n# (networkPolicy.jobNamespaces={example}): in a namespace whose NetworkPolicies deny egress by\n# default, it lets the pods jobcheck injected reach the Pushgateway and the cluster DNS.")},
}

// onlyTemplate renders one template of the chart with values under header.
func onlyTemplate(values map[string]any, template, about string) func(root string) ([]byte, error) {
	return func(root string) ([]byte, error) {
		c, err := loadChart(filepath.Join(root, "charts/jobcheck"))
		if err != nil {
			return nil, err
		}
		m, err := render(c, values)
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf(header, about) + onlySources(m, "jobcheck/templates/"+template)), nil
	}
}

// manifest renders the chart with values (and its Namespace) under header.
func manifest(values map[string]any, about string) func(root string) ([]byte, error) {
	return func(root string) ([]byte, error) {
		c, err := loadChart(filepath.Join(root, "charts/jobcheck"))
		if err != nil {
			return nil, err
		}
		m, err := render(c, withNamespace(values))
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf(header, about) + m), nil
	}
}

// generate writes every generated file under root that differs, and
// returns the paths it wrote.
func generate(root string) ([]string, error) {
	var wrote []string
	for _, f := range files {
		want, err := f.make(root)
		if err != nil {
			return wrote, fmt.Errorf("%s: %w", f.path, err)
		}
		path := filepath.Join(root, f.path)
		if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
			continue
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			return wrote, fmt.Errorf("write %s: %w", f.path, err)
		}
		wrote = append(wrote, f.path)
	}
	return wrote, nil
}

// renderVariants writes each variant, with its Namespace, to dir/NAME.yaml
// and returns the files written.
func renderVariants(root, dir string) ([]string, error) {
	c, err := loadChart(filepath.Join(root, "charts/jobcheck"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var out []string
	for _, v := range variants {
		m, err := render(c, withNamespace(v.values))
		if err != nil {
			return out, fmt.Errorf("variant %s: %w", v.name, err)
		}
		path := filepath.Join(dir, v.name+".yaml")
		body := fmt.Sprintf("# Variant %s: %s.\n# Namespaces it needs besides %s: %v\n", v.name, v.about, releaseNamespace, v.namespaces) + m
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return out, fmt.Errorf("write %s: %w", path, err)
		}
		out = append(out, path)
	}
	return out, nil
}
