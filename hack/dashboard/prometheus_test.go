package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prometheusBinary is Debian's Prometheus (hack/deps.sh installs it).
const prometheusBinary = "/usr/bin/prometheus"

// prom is a real Prometheus server started for a test.
type prom struct {
	url string
}

// startPrometheus runs Prometheus with an empty TSDB, scraping each target
// (host:port) every second with honor_labels, as jobcheck's scrape configs
// say to scrape the Pushgateway and the webhook.
func startPrometheus(t *testing.T, targets map[string]string) *prom {
	t.Helper()
	if _, err := os.Stat(prometheusBinary); err != nil {
		t.Fatalf("%s missing: run hack/deps.sh: %v", prometheusBinary, err)
	}
	dir := t.TempDir()
	var jobs []any
	for name, target := range targets {
		jobs = append(jobs, map[string]any{
			"job_name": name, "honor_labels": true,
			"static_configs": []any{map[string]any{"targets": []string{target}}},
		})
	}
	cfg, err := json.Marshal(map[string]any{ // JSON is YAML
		"global":         map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"scrape_configs": jobs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prometheusBinary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	p := &prom{url: "http://" + addr}
	eventually(t, "Prometheus ready", func() error {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
	return p
}

// series is one element of a query's result.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s series) value() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

// errBadQuery is a query Prometheus refused: no retry makes it right.
type errBadQuery struct{ msg string }

func (e errBadQuery) Error() string { return e.msg }

// query runs an instant query (range == 0) or a range query over the last
// range with step, and returns its series (for a range query, the last
// value of each).
func (p *prom) query(expr string, rng, step time.Duration) ([]series, error) {
	now := time.Now()
	if rng == 0 {
		return p.queryRange(expr, time.Time{}, now, 0, false)
	}
	return p.queryRange(expr, now.Add(-rng), now, step, false)
}

// queryRange runs a range query from start to end (an instant query at end
// when step is 0) and returns its series, each with its last value or, with
// sum set, the sum of its values.
func (p *prom) queryRange(expr string, start, end time.Time, step time.Duration, sum bool) ([]series, error) {
	v := url.Values{"query": {expr}, "time": {unixSeconds(end)}}
	path := "/api/v1/query"
	if step > 0 {
		path = "/api/v1/query_range"
		v = url.Values{"query": {expr}, "start": {unixSeconds(start)}, "end": {unixSeconds(end)},
			"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	}
	resp, err := http.PostForm(p.url+path, v)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: decode: %w", expr, err)
	}
	if resp.StatusCode != http.StatusOK || body.Status != "success" {
		return nil, errBadQuery{fmt.Sprintf("%s: %s %s", expr, resp.Status, body.Error)}
	}
	var out []series
	for _, r := range body.Data.Result {
		s := series{Metric: r.Metric, Value: r.Value}
		if len(r.Values) > 0 {
			s.Value = r.Values[len(r.Values)-1]
		}
		if sum {
			total := 0.0
			for _, x := range r.Values {
				total += series{Value: x}.value()
			}
			s.Value = [2]any{s.Value[0], strconv.FormatFloat(total, 'f', -1, 64)}
		}
		out = append(out, s)
	}
	return out, nil
}

func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// labelValues runs Grafana's label_values(match, label).
func (p *prom) labelValues(match, label string) ([]string, error) {
	resp, err := http.Get(p.url + "/api/v1/label/" + label + "/values?" + url.Values{"match[]": {match}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, errBadQuery{fmt.Sprintf("label_values(%s, %s): %s", match, label, body.Error)}
	}
	return body.Data, nil
}

// eventually retries f until it returns nil, for at most a minute: what a
// real Prometheus shows depends on its scrapes. It gives up at once on a
// query Prometheus refuses.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return
		}
		var bad errBadQuery
		if ctx.Err() != nil || errors.As(err, &bad) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expand replaces the dashboard's variables in expr, longest name first
// ($__rate_interval before $__range), as queries.json tells its users to.
func expand(expr string, vars map[string]string) string {
	names := slices.SortedFunc(maps.Keys(vars), func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "$"+n, vars[n])
	}
	return expr
}
