//go:build bench

package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one load run: requests answered per second and latency quantiles.
type loadResult struct {
	RPS      float64
	P50, P99 time.Duration
}

// client is an HTTP/1.1 keep-alive client with up to conns connections,
// as the API server keeps to a webhook.
func client(roots *x509.CertPool, conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
	}}
}

// load POSTs body to url n times from conc workers, each request timed from
// send to the last byte of the answer; no request is started after limit (a
// slow case then counts the requests answered by then). Every answer must be
// a 200.
func load(c *http.Client, url string, body []byte, n, conc int, limit time.Duration) (loadResult, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(limit)
	for w := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				t0 := time.Now()
				if err := post(c, url, body); err != nil {
					errs[w] = err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return loadResult{}, err
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return loadResult{
		RPS: float64(len(all)) / elapsed.Seconds(),
		P50: quantile(all, 0.50),
		P99: quantile(all, 0.99),
	}, nil
}

func post(c *http.Client, url string, body []byte) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: read answer: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %s", url, resp.StatusCode, b)
	}
	return nil
}

// quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
