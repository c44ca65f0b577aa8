package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/jobcheck/jobcheck/contract"
)

// root is the repository's root, from this package's directory.
const root = "../.."

func TestCommittedFilesAreGenerated(t *testing.T) {
	want, err := files()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s is not what hack/dashboard generates (%v): run `go run ./hack/dashboard`", name, err)
		}
	}
}

// dashboardJSON is the committed dashboard, decoded.
func dashboardJSON(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, chartFile))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", chartFile, err)
	}
	return d
}

func TestConfigMapForTheGrafanaSidecar(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, "manifests", "grafana"))
	if err != nil {
		t.Fatalf("kustomize build manifests/grafana: %v", err)
	}
	if len(m.Resources()) != 1 {
		t.Fatalf("manifests/grafana builds %d objects, want the ConfigMap", len(m.Resources()))
	}
	obj, err := m.Resources()[0].MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	if err := yaml.UnmarshalStrict(obj, &cm); err != nil {
		t.Fatalf("ConfigMap: %v", err)
	}
	if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Metadata.Labels["grafana_dashboard"] != "1" || cm.Metadata.Namespace == "" {
		t.Errorf("object %s %s %s/%s labels %v: want a ConfigMap labelled grafana_dashboard: \"1\"",
			cm.APIVersion, cm.Kind, cm.Metadata.Namespace, cm.Metadata.Name, cm.Metadata.Labels)
	}
	chart, err := os.ReadFile(filepath.Join(root, chartFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 1 || cm.Data[configMapKey] != string(chart) {
		t.Errorf("ConfigMap data keys %v: want %s holding %s byte for byte", slices.Collect(maps.Keys(cm.Data)), configMapKey, chartFile)
	}
}

func TestDashboard(t *testing.T) {
	d := dashboardJSON(t)
	if d["uid"] != uid || d["title"] != title {
		t.Errorf("uid %v title %v", d["uid"], d["title"])
	}

	vars := map[string]map[string]any{}
	for _, v := range d["templating"].(map[string]any)["list"].([]any) {
		m := v.(map[string]any)
		vars[m["name"].(string)] = m
	}
	if ds := vars[varDatasource]; ds == nil || ds["type"] != "datasource" || ds["query"] != "prometheus" {
		t.Errorf("variable %s: %v, want a Prometheus data source variable", varDatasource, ds)
	}
	for _, name := range []string{varNamespace, varJob} {
		v := vars[name]
		if v == nil || v["type"] != "query" || v["includeAll"] != true || v["multi"] != true || v["allValue"] != ".*" ||
			v["datasource"].(map[string]any)["uid"] != "${datasource}" || !strings.HasPrefix(v["query"].(string), "label_values(") {
			t.Errorf("variable %s: %v, want a multi-value label_values query variable on ${datasource} with All = .*", name, v)
		}
	}
	if r := vars[varResolution]; r == nil || r["type"] != "constant" || r["query"] != resolution {
		t.Errorf("variable %s: %v", varResolution, r)
	}

	// Every panel reads ${datasource}; every target is one of the exported
	// queries, and every exported query is on the dashboard, once.
	exported := map[string]query{}
	for _, q := range allQueries() {
		exported[q.Panel+" "+q.RefID] = q
	}
	ids := map[float64]bool{}
	for _, p := range d["panels"].([]any) {
		panel := p.(map[string]any)
		id := panel["id"].(float64)
		if ids[id] {
			t.Errorf("panel id %v twice", id)
		}
		ids[id] = true
		if panel["type"] == "row" {
			continue
		}
		name := panel["title"].(string)
		if panel["datasource"].(map[string]any)["uid"] != "${datasource}" {
			t.Errorf("panel %s: data source %v", name, panel["datasource"])
		}
		for _, tg := range panel["targets"].([]any) {
			target := tg.(map[string]any)
			key := name + " " + target["refId"].(string)
			q, ok := exported[key]
			if !ok || q.Expr != target["expr"] || q.Instant != (target["instant"] == true) {
				t.Errorf("panel %s: target %v is not the exported query %v", name, target, q)
			}
			if target["datasource"].(map[string]any)["uid"] != "${datasource}" {
				t.Errorf("panel %s: target's data source %v", name, target["datasource"])
			}
			delete(exported, key)
		}
	}
	for k := range exported {
		t.Errorf("exported query %s is on no panel", k)
	}
}

// jobcheckMetric finds the metric names a query reads.
var jobcheckMetric = regexp.MustCompile(`jobcheck_[a-z_]+`)

// TestQueriesReadOnlyKnownMetrics catches a misspelt metric, which would
// only show as an empty panel.
func TestQueriesReadOnlyKnownMetrics(t *testing.T) {
	known := func(m string) bool {
		return contract.Help(m) != "" || m == metricAdmissions || m == metricUnmonitoredPods
	}
	exprs := []string{}
	for _, q := range allQueries() {
		exprs = append(exprs, q.Expr)
	}
	for _, lv := range variableQueries() {
		exprs = append(exprs, lv.Match)
	}
	for _, e := range exprs {
		for _, m := range jobcheckMetric.FindAllString(e, -1) {
			if !known(m) {
				t.Errorf("%s: metric %s is no metric of package contract's nor the webhook's", e, m)
			}
		}
	}
}

func TestUnescapeHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"a \u003c b \u003e c \u0026 d"`, `"a < b > c & d"`},
		{`"\\u003c"`, `"\\u003c"`}, // an escaped backslash, then text
		{`"\u00e9 \n \" \\"`, `"\u00e9 \n \" \\"`},
		{`"\u003`, `"\u003`},
		{`\`, `\`},
	}
	for _, tt := range tests {
		got := string(unescapeHTML([]byte(tt.in)))
		if got != tt.want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", tt.in, got, tt.want)
		}
		var a, b any
		if json.Unmarshal([]byte(tt.in), &a) == nil && (json.Unmarshal([]byte(got), &b) != nil || a != b) {
			t.Errorf("unescapeHTML(%s) = %s: not the same JSON", tt.in, got)
		}
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"-out", "x"}, {"extra"}} {
		var stderr bytes.Buffer
		if code := run(args, &stderr); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("run %q: exit %d, stderr %q; want 2 and one line", args, code, &stderr)
		}
	}
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-root", dir}, &stderr); code != 0 {
		t.Fatalf("run -root %s: exit %d: %s", dir, code, &stderr)
	}
	for name := range mustFiles(t) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("run did not write %s: %v", name, err)
		}
	}
}

func mustFiles(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := files()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
