package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jobcheck/jobcheck/agent/textlog"
	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// Push robustness: the reporting may never harm the job.
const (
	perPushTimeout = 2 * time.Second
	pushAttempts   = 3
	firstBackoff   = 100 * time.Millisecond
)

// pusher pushes to this container's attempt group, each request bounded by
// perPushTimeout and retried with backoff until the caller's context ends.
// The first failure costs one line on stderr; later ones are logged at
// debug level only, so a Pushgateway that is down is one line.
type pusher struct {
	pg       *pushgateway.Client
	grouping [][2]string
	log      *textlog.Logger
	warnOnce sync.Once
}

// newPusher returns nil when no Pushgateway is configured (no push, not an
// error) or its URL is unusable (one warning line).
func newPusher(cfg Config, log *textlog.Logger) *pusher {
	if cfg.Pushgateway == "" || cfg.Job == "" {
		return nil
	}
	pg, err := pushgateway.New(cfg.Pushgateway, nil, contract.Help)
	if err != nil {
		log.Warn("no metrics pushed (the job is not affected)", "err", err)
		return nil
	}
	return &pusher{pg: pg, grouping: cfg.grouping(), log: log}
}

// add pushes samples, retrying within ctx.
func (p *pusher) add(ctx context.Context, what string, samples []pushgateway.Sample) error {
	err := retry(ctx, func(ctx context.Context) error { return p.pg.Add(ctx, p.grouping, samples) })
	// A push cancelled because the attempt ended (a hung push in flight) is
	// no failure of the Pushgateway: it must not use up the one warning line.
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		p.failed(fmt.Errorf("push %s metrics: %w", what, err))
	}
	return err
}

// previousFailures reads this group's consecutive-failure count back from
// the Pushgateway, streaming its /metrics one line at a time. A group that
// has none counts as 0. A Pushgateway of many groups takes a while to
// render: each try may take all of ctx.
func (p *pusher) previousFailures(ctx context.Context) (float64, error) {
	var v float64
	err := retryWithin(ctx, 0, func(ctx context.Context) error {
		v = 0
		return p.pg.Scan(ctx, []string{contract.MetricConsecutiveFailures}, func(_ string, labels [][2]string, value float64) {
			if pushgateway.InGroup(labels, p.grouping) {
				v = value
			}
		})
	})
	return v, err
}

// failed reports a reporting failure: one warning line, then debug only.
func (p *pusher) failed(err error) {
	warned := false
	p.warnOnce.Do(func() {
		warned = true
		p.log.Warn("pushgateway unavailable, metrics not reported (the job is not affected)", "pushgateway", p.pg.URL(), "err", err)
	})
	if !warned {
		p.log.Debug("reporting failed", "err", err)
	}
}

// retry calls fn up to pushAttempts times, each call bounded by
// perPushTimeout, with doubling backoff, stopping early when ctx ends.
func retry(ctx context.Context, fn func(context.Context) error) error {
	return retryWithin(ctx, perPushTimeout, fn)
}

// retryWithin is retry with each call bounded by timeout (0: only by ctx).
func retryWithin(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, timeout)
		}
		err := fn(actx)
		cancel()
		if err == nil || attempt == pushAttempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		backoff *= 2
	}
}
