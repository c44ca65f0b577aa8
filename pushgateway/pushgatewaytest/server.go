// Package pushgatewaytest runs a real Prometheus Pushgateway (Debian's
// prometheus-pushgateway, installed by hack/deps.sh) for tests, in memory
// only, on a free loopback port, and reads its groups back through its API.
package pushgatewaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Binary is the Pushgateway the tests run.
const Binary = "/usr/bin/prometheus-pushgateway"

// Server is a running Pushgateway.
type Server struct {
	URL string
	cmd *exec.Cmd
	log string
}

// Start runs a Pushgateway with logs in dir and the extra flags given
// (--push.disable-consistency-check fills one with many groups faster).
// Debian's build persists to /var/lib/prometheus/pushgateway.data unless
// told otherwise: a test server starts empty and writes nothing there.
func Start(dir string, flags ...string) (*Server, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("%s missing: run hack/deps.sh agent: %w", Binary, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{URL: "http://" + addr, log: filepath.Join(dir, "pushgateway-"+strconv.Itoa(os.Getpid())+".log")}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(Binary, append([]string{"--web.listen-address=" + addr, "--persistence.file=", "--log.level=warn"}, flags...)...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pushgateway: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	b, _ := os.ReadFile(s.log)
	return nil, fmt.Errorf("pushgateway on %s not ready:\n%s", addr, b)
}

// Stop kills the Pushgateway.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Sample is one series of a metric family in a group.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Group is one grouping key's metrics, as /api/v1/metrics shows them.
type Group struct {
	Labels  map[string]string
	Metrics map[string][]Sample
}

// Groups reads every group through the Pushgateway's API.
func (s *Server) Groups(ctx context.Context) ([]Group, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pushgateway api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pushgateway api: %s", resp.Status)
	}
	var body struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode pushgateway api: %w", err)
	}
	var groups []Group
	for _, raw := range body.Data {
		g := Group{Metrics: map[string][]Sample{}}
		if err := json.Unmarshal(raw["labels"], &g.Labels); err != nil {
			return nil, fmt.Errorf("decode group labels: %w", err)
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
					continue
				}
				g.Metrics[name] = append(g.Metrics[name], Sample{Labels: m.Labels, Value: f})
			}
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// Group returns the group whose grouping labels are exactly key, or nil.
func (s *Server) Group(ctx context.Context, key map[string]string) (*Group, error) {
	groups, err := s.Groups(ctx)
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

// Value returns the value of the first series of metric whose labels include want.
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
