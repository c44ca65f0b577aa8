package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"
)

// Pushgateway is a real prometheus-pushgateway (Debian's) on 127.0.0.1: the agents in
// host-network pods push to it.
type Pushgateway struct {
	URL string
}

// StartPushgateway starts a Pushgateway process of the cluster's run.
func (c *Cluster) StartPushgateway(ctx context.Context) (*Pushgateway, error) {
	port := FreePort()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if _, err := c.Run("pushgateway", []string{"prometheus-pushgateway",
		// In memory only: Debian's build otherwise persists to (and loads
		// groups from) /var/lib/prometheus/pushgateway.data, shared by every run.
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--persistence.file=", "--log.level=warn"}, nil); err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, "pushgateway", url+"/-/ready", nil, 30*time.Second); err != nil {
		return nil, c.withLog("pushgateway", err)
	}
	if err := c.SetExtra("pushgateway", url); err != nil {
		return nil, err
	}
	return &Pushgateway{URL: url}, nil
}

// Sample is one series of a metric family in a group.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Group is one grouping key's metrics, as the Pushgateway's /api/v1/metrics shows them.
type Group struct {
	Labels  map[string]string
	Metrics map[string][]Sample
}

// Groups reads every group from the Pushgateway's API.
func (p *Pushgateway) Groups(ctx context.Context) ([]Group, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("pushgateway request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pushgateway metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pushgateway metrics: status %s", resp.Status)
	}
	var body struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode pushgateway metrics: %w", err)
	}
	var groups []Group
	for _, raw := range body.Data {
		g := Group{Metrics: map[string][]Sample{}}
		if err := json.Unmarshal(raw["labels"], &g.Labels); err != nil {
			return nil, fmt.Errorf("decode pushgateway group labels: %w", err)
		}
		for name, v := range raw {
			var fam struct {
				Metrics []struct {
					Labels map[string]string `json:"labels"`
					Value  string            `json:"value"`
				} `json:"metrics"`
			}
			if name == "labels" || json.Unmarshal(v, &fam) != nil {
				continue
			}
			for _, m := range fam.Metrics {
				f, err := strconv.ParseFloat(m.Value, 64)
				if err != nil {
					continue // histograms and summaries: the agent pushes none
				}
				g.Metrics[name] = append(g.Metrics[name], Sample{Labels: m.Labels, Value: f})
			}
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// Group returns the group whose grouping labels are exactly key.
func (p *Pushgateway) Group(ctx context.Context, key map[string]string) (*Group, error) {
	groups, err := p.Groups(ctx)
	if err != nil {
		return nil, err
	}
	for i := range groups {
		if maps.Equal(groups[i].Labels, key) {
			return &groups[i], nil
		}
	}
	return nil, nil
}

// Value returns the value of the series of metric whose labels include want.
func (g *Group) Value(metric string, want map[string]string) (float64, bool) {
	if g == nil {
		return 0, false
	}
	for _, s := range g.Metrics[metric] {
		ok := true
		for k, v := range want {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return s.Value, true
		}
	}
	return 0, false
}
