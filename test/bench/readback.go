//go:build bench

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// fillGroups pushes n groups of a workload's run and attempt metrics, as n
// workloads reporting to one Pushgateway leave them, from 4 workers.
func fillGroups(url string, n int) error {
	c, err := pushgateway.New(url, nil, contract.Help)
	if err != nil {
		return err
	}
	now := float64(time.Now().Unix())
	gauge := func(name string, v float64) pushgateway.Sample { return pushgateway.Sample{Name: name, Value: v} }
	samples := []pushgateway.Sample{
		{Name: contract.MetricLastAttemptInfo, Labels: [][2]string{{contract.LabelReason, contract.ReasonFailed}, {contract.LabelDetail, ""}}, Value: 1},
		gauge(contract.MetricLastAttemptExitCode, 1), gauge(contract.MetricLastAttemptEnd, now), gauge(contract.MetricLastAttemptDuration, 60),
		gauge(contract.MetricMaxAge, 1800), gauge(contract.MetricRunning, 0), gauge(contract.MetricLastStart, now-60),
		gauge(contract.MetricLastCompletion, now), gauge(contract.MetricLastDuration, 60),
		{Name: contract.MetricLastRunInfo, Labels: [][2]string{{contract.LabelResult, contract.ResultFailed}, {contract.LabelReason, contract.ReasonFailed}}, Value: 1},
		gauge(contract.MetricLastSuccess, now-86400), gauge(contract.MetricLastSuccessStart, now-86460), gauge(contract.MetricLastFailure, now),
		{Name: contract.MetricLastFailureInfo, Labels: [][2]string{{contract.LabelReason, contract.ReasonFailed}, {contract.LabelFailedIndexes, ""}}, Value: 1},
		gauge(contract.MetricConsecutiveFailures, 3), gauge(contract.MetricNextRunDeadline, now+3600),
	}
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && first.Load() == nil; i = int(next.Add(1)) - 1 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := c.Add(ctx, contract.Grouping(fmt.Sprintf("workload-%05d", i), "team-"+strconv.Itoa(i%50), "", ""), samples)
				cancel()
				if err != nil {
					err = fmt.Errorf("fill the Pushgateway: %w", err)
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return *err
	}
	return nil
}

// metricsBytes is the size of the Pushgateway's /metrics: what a read-back
// streams through.
func metricsBytes(url string) (int64, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, fmt.Errorf("read %s/metrics: %w", url, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read %s/metrics: %w", url, err)
	}
	return n, nil
}

// failureCount is the consecutive-failure count of a group: the proof that
// the agent read the previous count back (and found it among every other
// group) before it pushed.
func failureCount(pg *pushgatewaytest.Server, job, namespace string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := pg.Group(ctx, map[string]string{contract.LabelJob: job, contract.LabelNamespace: namespace})
	if err != nil {
		return 0, err
	}
	v, ok := g.Value(contract.MetricConsecutiveFailures, nil)
	if !ok {
		return 0, fmt.Errorf("pushgateway %s: group %s/%s has no %s", pg.URL, namespace, job, contract.MetricConsecutiveFailures)
	}
	return v, nil
}
