package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Push robustness: the reporting may never harm the job.
const (
	perPushTimeout = 2 * time.Second
	pushAttempts   = 3
	firstBackoff   = 100 * time.Millisecond
)

// reporter pushes to one Pushgateway group with POST semantics (Pusher.Add),
// each request bounded by perPushTimeout and retried with backoff until the
// caller's context ends. The first failure costs one line on stderr; later
// ones are only logged at debug level, so a down Pushgateway is one line.
type reporter struct {
	url      string
	grouping [][2]string // job first
	client   *http.Client
	log      *slog.Logger
	warnOnce sync.Once
}

// newReporter returns nil when no Pushgateway is configured: no push, not an error.
func newReporter(cfg Config, log *slog.Logger) *reporter {
	if cfg.Pushgateway == "" || cfg.Job == "" {
		return nil
	}
	g := [][2]string{{"job", cfg.Job}}
	if cfg.Namespace != "" {
		g = append(g, [2]string{"namespace", cfg.Namespace})
	}
	if cfg.Container != "" {
		g = append(g, [2]string{"container", cfg.Container})
	}
	url := cfg.Pushgateway
	if !strings.Contains(url, "://") {
		url = "http://" + url // as client_golang's push does; the read-back needs it too
	}
	return &reporter{url: url, grouping: g, client: &http.Client{}, log: log}
}

// add pushes the collectors, retrying within ctx.
func (r *reporter) add(ctx context.Context, what string, cs []prometheus.Collector) error {
	err := retry(ctx, func(ctx context.Context) error {
		p := push.New(r.url, r.grouping[0][1]).Client(r.client)
		for _, kv := range r.grouping[1:] {
			p = p.Grouping(kv[0], kv[1])
		}
		for _, c := range cs {
			p = p.Collector(c)
		}
		return p.AddContext(ctx)
	})
	// A push cancelled because the run ended (a heartbeat push in flight) is
	// no failure of the Pushgateway: it must not use up the one warning line.
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		r.failed(fmt.Errorf("push %s metrics to %s: %w", what, r.url, err))
	}
	return err
}

// failed reports a reporting failure: one warning line, then debug only.
func (r *reporter) failed(err error) {
	warned := false
	r.warnOnce.Do(func() {
		warned = true
		r.log.Warn("pushgateway unavailable, metrics not reported (the job is not affected)", "err", err)
	})
	if !warned {
		r.log.Debug("reporting failed", "err", err)
	}
}

// retry calls fn up to pushAttempts times, each call bounded by
// perPushTimeout, with doubling backoff, stopping early when ctx ends.
func retry(ctx context.Context, fn func(context.Context) error) error {
	backoff := firstBackoff
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, perPushTimeout)
		err = fn(actx)
		cancel()
		if err == nil || attempt == pushAttempts {
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
