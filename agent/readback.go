package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
)

// previousFailures reads jobcheck_consecutive_failures of our group back from
// the Pushgateway's API (GET /api/v1/metrics), so the count can go on across
// runs in different pods. It reports false when the value is unknown: no such
// group yet counts as 0 with true.
func (r *reporter) previousFailures(ctx context.Context) (float64, error) {
	var v float64
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		v, err = r.readFailures(ctx)
		return err
	})
	return v, err
}

// apiGroup is one element of the data array of /api/v1/metrics: "labels" is
// the grouping key, every other key a metric family.
type apiGroup map[string]json.RawMessage

type apiFamily struct {
	Metrics []struct {
		Labels map[string]string `json:"labels"`
		Value  string            `json:"value"`
	} `json:"metrics"`
}

func (r *reporter) readFailures(ctx context.Context) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(r.url, "/")+"/api/v1/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("read back: %w", err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read back: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read back: %s", resp.Status)
	}
	var body struct {
		Data []apiGroup `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("read back: decode: %w", err)
	}
	want := map[string]string{}
	for _, kv := range r.grouping {
		want[kv[0]] = kv[1]
	}
	for _, g := range body.Data {
		var labels map[string]string
		if json.Unmarshal(g["labels"], &labels) != nil || !maps.Equal(labels, want) {
			continue
		}
		var fam apiFamily
		if raw, ok := g[mConsecFailures]; !ok || json.Unmarshal(raw, &fam) != nil || len(fam.Metrics) == 0 {
			return 0, nil
		}
		v, err := strconv.ParseFloat(fam.Metrics[0].Value, 64)
		if err != nil {
			return 0, fmt.Errorf("read back: value %q: %w", fam.Metrics[0].Value, err)
		}
		return v, nil
	}
	return 0, nil
}
