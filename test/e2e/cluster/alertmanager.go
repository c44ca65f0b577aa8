package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// AlertmanagerBin is Debian's Alertmanager (package prometheus-alertmanager).
const AlertmanagerBin = "prometheus-alertmanager"

// Alertmanager is a real Alertmanager on 127.0.0.1 that Prometheus sends its alerts
// to. It notifies no one (one receiver without integrations): its web page and API
// show what an on-call person would be sent.
type Alertmanager struct {
	URL  string
	Addr string // host:port, for Prometheus's alerting configuration
}

// HasAlertmanager reports whether Alertmanager is installed (hack/deps.sh all).
func HasAlertmanager() bool {
	_, err := exec.LookPath(AlertmanagerBin)
	return err == nil
}

// StartAlertmanager starts an Alertmanager process of the cluster's run, without
// the gossip listener of a highly available one (it would bind every interface).
func (c *Cluster) StartAlertmanager(ctx context.Context) (*Alertmanager, error) {
	dir := c.path("alertmanager")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("alertmanager dir: %w", err)
	}
	cfg := map[string]any{
		"route":     map[string]any{"receiver": "nobody", "group_by": []string{"alertname", "namespace", "job"}, "group_wait": "1s"},
		"receivers": []any{map[string]any{"name": "nobody"}},
	}
	b, _ := json.Marshal(cfg) // JSON is YAML
	if err := os.WriteFile(dir+"/alertmanager.yml", b, 0o644); err != nil {
		return nil, fmt.Errorf("write alertmanager config: %w", err)
	}
	port := FreePort()
	am := &Alertmanager{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	am.URL = "http://" + am.Addr
	if _, err := c.Run("alertmanager", []string{AlertmanagerBin, "--config.file=" + dir + "/alertmanager.yml",
		"--storage.path=" + dir + "/data", "--web.listen-address=" + am.Addr, "--cluster.listen-address=",
		"--log.level=warn"}, nil); err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, "alertmanager", am.URL+"/-/ready", nil, 60*time.Second); err != nil {
		return nil, c.withLog("alertmanager", err)
	}
	_ = c.SetExtra("alertmanager", am.URL)
	return am, nil
}

// Alerts lists the alerts Alertmanager holds (its API v2), with their labels.
func (a *Alertmanager) Alerts(ctx context.Context) ([]Alert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/api/v2/alerts", nil)
	if err != nil {
		return nil, fmt.Errorf("alertmanager request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alertmanager alerts: %w", err)
	}
	defer resp.Body.Close()
	var body []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Status      struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode alertmanager alerts (%s): %w", resp.Status, err)
	}
	out := make([]Alert, 0, len(body))
	for _, a := range body {
		out = append(out, Alert{Labels: a.Labels, Annotations: a.Annotations, State: a.Status.State})
	}
	return out, nil
}
