package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the run watcher's scenarios need of the harness: a webhook replica
// killed the way a lost node or the OOM killer kills it, the first replica
// restarted with other flags, a Pushgateway of a scenario's own, and the
// counters each replica serves on /metrics.

// The webhook replicas' process names (Start, StartSecond).
var replicaNames = [...]string{1: "jobcheck-webhook", 2: "jobcheck-webhook-2"}

func replicaName(n int) (string, error) {
	if n != 1 && n != 2 {
		return "", fmt.Errorf("webhook replica %d: want 1 or 2", n)
	}
	return replicaNames[n], nil
}

// Kill kills replica n (1 or 2) with SIGKILL: no shutdown, no Lease released.
// Its record is dropped, so Start (or StartSecond) runs it again.
func (w *Webhook) Kill(n int) error {
	name, err := replicaName(n)
	if err != nil {
		return err
	}
	c := w.c
	c.mu.Lock()
	i := slices.IndexFunc(c.Procs, func(p *Proc) bool { return p.Name == name })
	var p *Proc
	if i >= 0 {
		p = c.Procs[i]
		c.Procs = slices.Delete(c.Procs, i, i+1)
	}
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("kill %s: not started", name)
	}
	if p.Alive() {
		if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill %s (pid %d): %w", name, p.Pid, err)
		}
	}
	if !waitGone(p, 10*time.Second) {
		return fmt.Errorf("kill %s (pid %d): still running", name, p.Pid)
	}
	return c.save()
}

// Restart stops replica 1 and starts it again with extra flags after the
// harness's own (the last of a flag given twice wins); with none it runs
// with the harness's flags again.
func (w *Webhook) Restart(ctx context.Context, extra ...string) error {
	if err := w.Stop(); err != nil {
		return err
	}
	saved := w.o.Args
	w.o.Args = append(slices.Clone(saved), extra...)
	defer func() { w.o.Args = saved }()
	return w.Start(ctx)
}

// ReplicaMetrics reads and parses replica n's /metrics.
func (w *Webhook) ReplicaMetrics(ctx context.Context, n int) (Metrics, error) {
	if _, err := replicaName(n); err != nil {
		return nil, err
	}
	port := w.MetricsPort
	if n == 2 {
		port = w.SecondMetricsPort
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("webhook replica %d metrics: %w", n, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webhook replica %d metrics: %w", n, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("webhook replica %d metrics: status %s", n, resp.Status)
	}
	m, err := ParseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("webhook replica %d metrics: %w", n, err)
	}
	return m, nil
}

// Metrics are the series of a Prometheus text exposition, by metric name.
type Metrics map[string][]Sample

// Sum adds up the series of metric whose labels include want; found is
// false when there is none.
func (m Metrics) Sum(metric string, want map[string]string) (sum float64, found bool) {
	for _, s := range m[metric] {
		if hasLabels(s.Labels, want) {
			sum, found = sum+s.Value, true
		}
	}
	return sum, found
}

func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// ParseMetrics reads the Prometheus text format (version 0.0.4): comments
// and blank lines are skipped, every other line is one series. An optional
// timestamp after the value is ignored.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, s, err := parseSeries(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %q: %w", n, line, err)
		}
		m[name] = append(m[name], s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return m, nil
}

func parseSeries(line string) (string, Sample, error) {
	s := Sample{Labels: map[string]string{}}
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", s, errors.New("no metric name")
	}
	name, rest := line[:end], line[end:]
	if rest[0] == '{' {
		var err error
		if rest, err = parseLabels(rest[1:], s.Labels); err != nil {
			return "", s, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return "", s, errors.New("want a value and at most a timestamp after the labels")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", s, fmt.Errorf("value: %w", err)
	}
	s.Value = v
	return name, s, nil
}

// parseLabels reads `k="v",...}` into into and returns what follows the brace.
func parseLabels(s string, into map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return "", errors.New("labels not closed")
		}
		if s[0] == '}' {
			return s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return "", errors.New(`want label="value"`)
		}
		key := strings.TrimSpace(s[:eq])
		var v strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' || i+1 == len(s) {
				v.WriteByte(s[i])
				continue
			}
			i++
			switch s[i] {
			case 'n':
				v.WriteByte('\n')
			default: // \\ and \"
				v.WriteByte(s[i])
			}
		}
		if i == len(s) {
			return "", fmt.Errorf("label %s: value not closed", key)
		}
		into[key] = v.String()
		s = s[i+1:]
	}
}

// StartScratchPushgateway starts a Pushgateway of a scenario's own, recorded
// (and so stopped at the end of the run) under name: the groups its jobs
// leave do not crowd the shared one.
func (c *Cluster) StartScratchPushgateway(ctx context.Context, name string) (*Pushgateway, error) {
	port := FreePort()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if _, err := c.Run(name, []string{"prometheus-pushgateway",
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--persistence.file=", "--log.level=warn"}, nil); err != nil {
		return nil, err
	}
	if err := WaitHTTP(ctx, name, url+"/-/ready", nil, 30*time.Second); err != nil {
		return nil, c.withLog(name, err)
	}
	return &Pushgateway{URL: url}, nil
}
