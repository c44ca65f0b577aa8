//go:build bench

package main

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// pushgateway is a real Pushgateway (/usr/bin/prometheus-pushgateway) on a
// loopback port, with no persistence.
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
	cmd := exec.Command("prometheus-pushgateway", "--web.listen-address="+addr, "--log.level=warn")
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
