//go:build bench

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// pushgateway is a real Pushgateway (/usr/bin/prometheus-pushgateway) on a
// loopback port, in memory only.
type pushgateway struct {
	URL string
	cmd *exec.Cmd
}

func startPushgateway() (*pushgateway, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pushgateway port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// Debian's build persists to /var/lib/prometheus/pushgateway.data unless told
	// otherwise: every run starts empty and leaves nothing behind.
	cmd := exec.Command("prometheus-pushgateway", "--web.listen-address="+addr, "--persistence.file=", "--log.level=warn")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pushgateway (hack/deps.sh installs it): %w", err)
	}
	pg := &pushgateway{URL: "http://" + addr, cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(pg.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return pg, nil
			}
		}
	}
	pg.stop()
	return nil, fmt.Errorf("pushgateway on %s not ready after 30s", addr)
}

func (pg *pushgateway) stop() {
	_ = pg.cmd.Process.Signal(syscall.SIGTERM)
	_ = pg.cmd.Wait()
}

// requireSuccess checks that a run of job pushed its exit metrics: a wrapper
// whose pushes failed would look faster than one whose pushes landed.
func (pg *pushgateway) requireSuccess(job string) error {
	resp, err := http.Get(pg.URL + "/metrics")
	if err != nil {
		return fmt.Errorf("read pushgateway: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read pushgateway: %w", err)
	}
	for _, metric := range []string{"jobcheck_last_success_timestamp_seconds", "jobcheck_last_duration_seconds", "jobcheck_running"} {
		want := fmt.Sprintf(`%s{instance="",job="%s",namespace="bench"}`, metric, job)
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("pushgateway %s has no %s: the pushes of %s did not land", pg.URL, want, job)
		}
	}
	return nil
}
