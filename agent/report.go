package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// runReport is the reporting of one run: the start push with the read-back
// of the failure count, then the exit push and the Kuberhealthy report.
type runReport struct {
	cfg      Config
	log      *slog.Logger
	pg       *reporter // nil: no Pushgateway
	deadline time.Time // next-run deadline; zero without a schedule
	errTail  *tail

	startDone chan struct{} // closed when the start push and read-back ended
	prev      float64       // consecutive failures before this run; valid after startDone
	prevOK    bool
}

// begin pushes the start metrics and reads the previous failure count back,
// in the background, within the push budget.
func (r *runReport) begin(start time.Time) {
	r.startDone = make(chan struct{})
	go func() {
		defer close(r.startDone)
		if r.pg == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.PushBudget)
		defer cancel()
		if r.pg.add(ctx, "start", startMetrics(start, r.cfg.MaxAge, r.deadline)) != nil {
			return
		}
		if v, err := r.pg.previousFailures(ctx); err == nil {
			r.prev, r.prevOK = v, true
		} else {
			r.log.Debug("consecutive failures not read back", "err", err)
		}
	}()
}

// finish does all the reporting at exit within the push budget: the exit
// push and the Kuberhealthy report, concurrently. The exit push waits for the
// start push, so "running 1" can never land after "running 0".
func (r *runReport) finish(res result) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.PushBudget)
	defer cancel()
	var wg sync.WaitGroup
	if r.pg != nil {
		wg.Go(func() { r.pushExit(ctx, res) })
	}
	if kh := khFromEnv(os.Getenv); kh.url != "" {
		wg.Go(func() {
			if err := kh.send(ctx, &http.Client{}, newKHReport(res.code, res.reason, r.errTail.Lines())); err != nil {
				r.log.Warn("kuberhealthy report failed (the job is not affected)", "err", err)
			}
		})
	}
	wg.Wait()
}

func (r *runReport) pushExit(ctx context.Context, res result) {
	select {
	case <-r.startDone:
	case <-ctx.Done():
		r.pg.failed(fmt.Errorf("push exit metrics to %s: start push still pending: %w", r.pg.url, ctx.Err()))
		return
	}
	if !r.prevOK {
		if v, err := r.pg.previousFailures(ctx); err == nil {
			r.prev, r.prevOK = v, true
		} else {
			r.log.Debug("consecutive failures not read back", "err", err)
		}
	}
	if res.reason != reasonSucceeded {
		res.failures = r.prev + 1 // previous value unknown: at least this one
	}
	r.pg.add(ctx, "exit", exitMetrics(res, r.cfg.MaxAge, r.deadline))
}
