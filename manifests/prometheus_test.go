package manifests

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// ruleFile is a Prometheus rules file (rules.yaml).
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// readYAML decodes file into into, strictly when strict is set.
func readYAML(t *testing.T, file string, into any, strict bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strict {
		err = yaml.UnmarshalStrict(data, into)
	} else {
		err = yaml.Unmarshal(data, into)
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// alerts returns the shipped alert rules, by name.
func alerts(t *testing.T) map[string]rule {
	t.Helper()
	var f ruleFile
	readYAML(t, "prometheus/rules.yaml", &f, true)
	out := map[string]rule{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s has a rule that is not an alert: %s", g.Name, r.Expr)
				continue
			}
			if _, dup := out[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			out[r.Alert] = r
		}
	}
	return out
}

// TestPrometheusRuleIsTheRulesFile checks the PrometheusRule ships exactly the
// rules of the plain rules file, so the two forms cannot drift apart.
func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	var plain any
	readYAML(t, "prometheus/rules.yaml", &plain, false)
	objs := build(t, "prometheus")
	names := objs.names("PrometheusRule")
	if len(names) != 1 {
		t.Fatalf("PrometheusRules = %v, want one", names)
	}
	ns, name, _ := strings.Cut(names[0], "/")
	var pr struct {
		Spec any `json:"spec"`
	}
	if err := yaml.Unmarshal(objs[key("PrometheusRule", ns, name)], &pr); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plain, pr.Spec); diff != "" {
		t.Errorf("PrometheusRule %s spec differs from rules.yaml (-rules.yaml +prometheusrule.yaml):\n%s", name, diff)
	}
}

// TestEveryAlertIsTestedAndDocumented checks each shipped alert has a
// promtool test where it fires and one where it does not, carries a `for`, a
// severity, a summary and a description, and is described in docs/deploy.md.
func TestEveryAlertIsTestedAndDocumented(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, "prometheus/rules_test.yaml", &tests, false)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	doc, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	shipped := alerts(t)
	if len(shipped) == 0 {
		t.Fatal("rules.yaml ships no alerts")
	}
	for name, r := range shipped {
		if !fires[name] || !quiet[name] {
			t.Errorf("alert %s: rules_test.yaml must test it firing (%v) and not firing (%v)", name, fires[name], quiet[name])
		}
		if r.For == "" {
			t.Errorf("alert %s has no `for`", name)
		}
		if !slices.Contains([]string{"warning", "critical"}, r.Labels["severity"]) {
			t.Errorf("alert %s severity = %q, want warning or critical", name, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s lacks a summary or description annotation", name)
		}
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("alert %s is not described in docs/deploy.md", name)
		}
	}
	for name := range fires {
		if _, ok := shipped[name]; !ok {
			t.Errorf("rules_test.yaml tests alert %s, which rules.yaml does not ship", name)
		}
	}
}

// TestScrapeConfigsMatchTheRules checks the shipped scrape configs give the
// rules the labels they match on: the Pushgateway scraped with honor_labels
// (the pushed job and namespace labels survive), and the webhook scraped
// under the job name JobcheckWebhookDown looks for.
func TestScrapeConfigsMatchTheRules(t *testing.T) {
	type scrape struct {
		JobName     string `json:"job_name"`
		HonorLabels bool   `json:"honor_labels"`
	}
	var pgw, wh []scrape
	readYAML(t, "prometheus/scrape-config.yaml", &pgw, false)
	readYAML(t, "prometheus/scrape-config-webhook.yaml", &wh, false)
	if len(pgw) != 1 || !pgw[0].HonorLabels {
		t.Errorf("scrape-config.yaml = %+v, want one Pushgateway job with honor_labels: true", pgw)
	}
	// JobcheckJobNotMonitored aggregates the webhook's counter by the
	// workload's namespace and job labels: without honor_labels the scrape
	// would rename them exported_namespace and exported_job.
	if len(wh) != 1 || wh[0].JobName != "jobcheck-webhook" || !wh[0].HonorLabels {
		t.Errorf("scrape-config-webhook.yaml = %+v, want one job named jobcheck-webhook with honor_labels: true", wh)
	}
	if down := alerts(t)["JobcheckWebhookDown"]; !strings.Contains(down.Expr, `job="jobcheck-webhook"`) {
		t.Errorf("JobcheckWebhookDown expr %q does not look for job=\"jobcheck-webhook\"", down.Expr)
	}
	// prometheus-operator names a ServiceMonitor's job after the Service.
	var sm struct {
		Spec struct {
			NamespaceSelector struct {
				MatchNames []string `json:"matchNames"`
			} `json:"namespaceSelector"`
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			JobLabel  string `json:"jobLabel"`
			Endpoints []struct {
				HonorLabels bool `json:"honorLabels"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	objs := build(t, "prometheus")
	monitors := objs.names("ServiceMonitor")
	if len(monitors) != 1 {
		t.Fatalf("ServiceMonitors = %v, want one", monitors)
	}
	ns, name, _ := strings.Cut(monitors[0], "/")
	data := objs[key("ServiceMonitor", ns, name)]
	if err := yaml.Unmarshal(data, &sm); err != nil {
		t.Fatal(err)
	}
	if sm.Spec.JobLabel != "" || !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{"jobcheck-system"}) ||
		sm.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "jobcheck-webhook" || len(sm.Spec.Endpoints) != 1 || !sm.Spec.Endpoints[0].HonorLabels {
		t.Errorf("ServiceMonitor %s = %+v, want the jobcheck-webhook Service in jobcheck-system, job label from its name, honorLabels", name, sm.Spec)
	}
}
