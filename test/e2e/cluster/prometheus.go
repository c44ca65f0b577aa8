package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Prometheus is a real Prometheus server (Debian's) evaluating jobcheck's alert rules
// and scraping, every second, the run's Pushgateway (honor_labels, as
// manifests/prometheus/scrape-config.yaml says), the webhook replicas' /metrics (as
// job "jobcheck-webhook") and the API server's /metrics (as job "apiserver").
type Prometheus struct {
	URL string
}

// PrometheusOptions say what a Prometheus scrapes and evaluates.
type PrometheusOptions struct {
	Pushgateway string   // base URL
	Webhooks    []string // host:port of each webhook replica's metrics listener
	APIServer   bool     // scrape the cluster's kube-apiserver with the admin token
	RuleFiles   []string
	// Alertmanager (host:port), when set, receives the alerts.
	Alertmanager string
}

// StartPrometheus starts Prometheus as o says, scraping and evaluating every second so
// that alerts show up quickly.
func (c *Cluster) StartPrometheus(ctx context.Context, o PrometheusOptions) (*Prometheus, error) {
	u, err := url.Parse(o.Pushgateway)
	if err != nil {
		return nil, fmt.Errorf("pushgateway url %q: %w", o.Pushgateway, err)
	}
	dir := c.path("prometheus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prometheus dir: %w", err)
	}
	scrapes := []any{map[string]any{
		"job_name": "pushgateway", "honor_labels": true,
		"static_configs": []any{map[string]any{"targets": []string{u.Host}}},
	}}
	if len(o.Webhooks) > 0 {
		scrapes = append(scrapes, map[string]any{
			// honor_labels, as manifests/prometheus/scrape-config-webhook.yaml: the
			// unmonitored-pods counter's job label is the workload's.
			"job_name": "jobcheck-webhook", "honor_labels": true,
			"static_configs": []any{map[string]any{"targets": o.Webhooks}},
		})
	}
	if o.APIServer {
		su, _ := url.Parse(c.Server)
		if err := os.WriteFile(dir+"/token", []byte(c.Token), 0o600); err != nil {
			return nil, fmt.Errorf("write prometheus token: %w", err)
		}
		scrapes = append(scrapes, map[string]any{
			"job_name": "apiserver", "scheme": "https",
			"tls_config":        map[string]any{"ca_file": c.path("pki", "ca.crt")},
			"bearer_token_file": dir + "/token",
			"static_configs":    []any{map[string]any{"targets": []string{su.Host}}},
		})
	}
	cfg := map[string]any{
		"global":         map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files":     o.RuleFiles,
		"scrape_configs": scrapes,
	}
	if o.Alertmanager != "" {
		cfg["alerting"] = map[string]any{"alertmanagers": []any{map[string]any{
			"static_configs": []any{map[string]any{"targets": []string{o.Alertmanager}}}}}}
	}
	b, _ := json.Marshal(cfg) // JSON is YAML
	if err := os.WriteFile(dir+"/prometheus.yml", b, 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	port := FreePort()
	if _, err := c.Run("prometheus", []string{"prometheus", "--config.file=" + dir + "/prometheus.yml",
		"--storage.tsdb.path=" + dir + "/data", fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--log.level=warn"}, nil); err != nil {
		return nil, err
	}
	p := &Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if err := WaitHTTP(ctx, "prometheus", p.URL+"/-/ready", nil, 60*time.Second); err != nil {
		return nil, c.withLog("prometheus", err)
	}
	_ = c.SetExtra("prometheus", p.URL)
	return p, nil
}

// Alert is one entry of Prometheus's /api/v1/alerts.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// Alerts lists the pending and firing alerts.
func (p *Prometheus) Alerts(ctx context.Context) ([]Alert, error) {
	var body struct {
		Data struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := p.get(ctx, "/api/v1/alerts", &body); err != nil {
		return nil, err
	}
	return body.Data.Alerts, nil
}

// QuerySample is one series of an instant query's result.
type QuerySample struct {
	Labels map[string]string
	Value  float64
}

// Query evaluates expr now. A malformed expression is an error naming it.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]QuerySample, error) {
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &body); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", expr, body.Error)
	}
	var out []QuerySample
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, _ := strconv.ParseFloat(s, 64)
		out = append(out, QuerySample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// LabelValues lists the values of label among the series that match selects, as
// Grafana's label_values(match, label) does (/api/v1/label/LABEL/values).
func (p *Prometheus) LabelValues(ctx context.Context, label, match string) ([]string, error) {
	var body struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := p.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values?match[]="+url.QueryEscape(match), &body); err != nil {
		return nil, fmt.Errorf("label values of %s for %s: %w", label, match, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("label values of %s for %s: %s", label, match, body.Error)
	}
	return body.Data, nil
}

func (p *Prometheus) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return fmt.Errorf("prometheus request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("decode prometheus %s (%s): %w", path, resp.Status, err)
	}
	return nil
}

// Evaluated returns once every rule group has been evaluated after after,
// that is after a scrape (every second) that followed it.
func (p *Prometheus) Evaluated(ctx context.Context, after time.Time) error {
	var body struct {
		Data struct {
			Groups []struct {
				Name           string    `json:"name"`
				LastEvaluation time.Time `json:"lastEvaluation"`
			} `json:"groups"`
		} `json:"data"`
	}
	return Poll(ctx, "an evaluation of the rules after "+after.Format(time.RFC3339Nano), time.Minute, func() (bool, error) {
		if err := p.get(ctx, "/api/v1/rules", &body); err != nil {
			return false, nil
		}
		for _, g := range body.Data.Groups {
			if !g.LastEvaluation.After(after) {
				return false, nil
			}
		}
		return len(body.Data.Groups) > 0, nil
	})
}
