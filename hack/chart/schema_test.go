package main

import (
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

// TestBadValuesFailWithTheSchemasMessage: a typo or a wrong value fails the
// rendering (as `helm install` and `helm template` do) with the schema's
// message naming the value; the chart never renders it.
func TestBadValuesFailWithTheSchemasMessage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   []string // in the error, in any order
	}{
		{"misspelt top-level key", map[string]any{"replicas": 3}, []string{"additional properties 'replicas' not allowed"}},
		{"misspelt nested key", map[string]any{"certManager": map[string]any{"enable": true}}, []string{"/certManager", "additional properties 'enable' not allowed"}},
		{"replicas as a string", map[string]any{"replicaCount": "two"}, []string{"/replicaCount", "want integer"}},
		{"no replicas", map[string]any{"replicaCount": 0}, []string{"/replicaCount", "minimum"}},
		{"failure policy", map[string]any{"webhook": map[string]any{"failurePolicy": "Sometimes"}}, []string{"/webhook/failurePolicy", "Ignore", "Fail"}},
		{"timeout too long", map[string]any{"webhook": map[string]any{"timeoutSeconds": 60}}, []string{"/webhook/timeoutSeconds", "maximum"}},
		{"max age not a duration", map[string]any{"config": map[string]any{"maxAge": "thirty minutes"}}, []string{"/config/maxAge", "does not match pattern"}},
		{"heartbeat", map[string]any{"config": map[string]any{"heartbeat": "cpu"}}, []string{"/config/heartbeat", "progress", "file"}},
		{"pushgateway not a URL", map[string]any{"config": map[string]any{"pushgateway": "pushgateway:9091"}}, []string{"/config/pushgateway", "does not match pattern"}},
		{"pull policy", map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, []string{"/image/pullPolicy"}},
		{"digest", map[string]any{"image": map[string]any{"digest": "abc"}}, []string{"/image/digest", "does not match pattern"}},
		{"job namespace", map[string]any{"networkPolicy": map[string]any{"jobNamespaces": []any{"Batch_Jobs"}}}, []string{"/networkPolicy/jobNamespaces/0", "does not match pattern"}},
		{"pull secrets as names", map[string]any{"imagePullSecrets": []any{"regcred"}}, []string{"/imagePullSecrets/0", "want object"}},
		{"issuer kind", map[string]any{"certManager": map[string]any{"issuerRef": map[string]any{"kind": "Vault", "name": "x"}}}, []string{"/certManager/issuerRef/kind"}},
		{"port out of range", map[string]any{"containerPorts": map[string]any{"webhook": 70000}}, []string{"/containerPorts/webhook", "maximum"}},
		{"host network as a string", map[string]any{"hostNetwork": "yes"}, []string{"/hostNetwork", "want boolean"}},
		{"extra env without a name", map[string]any{"extraEnv": []any{map[string]any{"value": "x"}}}, []string{"/extraEnv/0", "name"}},
		{"extra arg without dashes", map[string]any{"config": map[string]any{"extraArgs": []any{"lookup-timeout=2s"}}}, []string{"/config/extraArgs/0", "does not match pattern"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(theChart(t), tc.values)
			if err == nil {
				t.Fatal("rendered; want the schema to refuse the values")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestValuesTheTemplatesRefuse: what the schema cannot say, the templates do,
// naming the values.
func TestValuesTheTemplatesRefuse(t *testing.T) {
	_, err := render(theChart(t), map[string]any{"replicaCount": 1})
	if err == nil || !strings.Contains(err.Error(), "podDisruptionBudget.minAvailable 1 with replicaCount 1 would block every node drain") {
		t.Errorf("one replica with the default budget: %v, want an error naming both values", err)
	}
}

// TestChartLints runs Helm's own linter (`helm lint`) on the chart, with
// its default values and with every variant's: no error, no warning.
func TestChartLints(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			kv, err := common.ParseKubeVersion(kubeVersion)
			if err != nil {
				t.Fatal(err)
			}
			l := lint.RunAll(filepath.Join(root, "charts/jobcheck"), copyValues(v.values), releaseNamespace, lint.WithKubeVersion(kv))
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}
