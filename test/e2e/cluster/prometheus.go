package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Prometheus is a real Prometheus server (Debian's) scraping the run's Pushgateway
// with honor_labels and evaluating jobcheck's alert rules.
type Prometheus struct {
	URL string
}

// StartPrometheus starts Prometheus with the given rule files, scraping and evaluating
// every second so that alerts show up quickly.
func (c *Cluster) StartPrometheus(ctx context.Context, pushgateway string, ruleFiles []string) (*Prometheus, error) {
	u, err := url.Parse(pushgateway)
	if err != nil {
		return nil, fmt.Errorf("pushgateway url %q: %w", pushgateway, err)
	}
	dir := c.path("prometheus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prometheus dir: %w", err)
	}
	cfg := map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": ruleFiles,
		"scrape_configs": []any{map[string]any{
			"job_name": "pushgateway", "honor_labels": true,
			"static_configs": []any{map[string]any{"targets": []string{u.Host}}},
		}},
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/alerts", nil)
	if err != nil {
		return nil, fmt.Errorf("prometheus request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus alerts: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode prometheus alerts: %w", err)
	}
	return body.Data.Alerts, nil
}
