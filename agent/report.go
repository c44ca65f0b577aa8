package agent

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jobcheck/jobcheck/agent/textlog"
	"github.com/jobcheck/jobcheck/contract"
)

// report is the reporting of one attempt (docs/model.md, "Agent pushes"):
// in run mode the start push, the hung pushes in both modes, then the exit
// push (in run mode after a failed run, with the failure count read back
// first) and the Kuberhealthy report. None of it delays the child or
// changes its exit code.
type report struct {
	cfg     Config
	log     *textlog.Logger
	push    *pusher // nil: no Pushgateway
	start   time.Time
	errTail *tail

	ctx    context.Context // the pushes made while the attempt runs
	cancel context.CancelFunc
	pushes sync.WaitGroup

	startDone chan struct{} // closed when the start push ended
	deadline  time.Time     // next-run deadline (run mode, with a schedule); valid after startDone
}

func newReport(cfg Config, log *textlog.Logger, start time.Time, errTail *tail) *report {
	r := &report{cfg: cfg, log: log, push: newPusher(cfg, log), start: start, errTail: errTail, startDone: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

func (r *report) runMode() bool { return r.cfg.Report == contract.ReportRun }

// begin starts run mode's start push, in the background and within the
// push budget: the child's start must not wait for the network. Attempt
// mode pushes nothing at start.
func (r *report) begin() {
	if r.push == nil || !r.runMode() {
		close(r.startDone)
		return
	}
	go func() {
		defer close(r.startDone)
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.PushBudget)
		defer cancel()
		if r.cfg.Schedule != "" {
			d, err := nextRunDeadline(r.cfg.Schedule, r.cfg.Timezone, r.start, r.cfg.Grace)
			if err != nil {
				r.log.Warn("no next-run deadline (the job is not affected)", "err", err)
			}
			r.deadline = d
		}
		r.push.add(ctx, "start", startSamples(r.start, r.cfg.MaxAge, r.deadline))
	}()
}

// hung pushes that the attempt is hung, in the background.
func (r *report) hung(now time.Time) {
	if r.push == nil {
		return
	}
	r.pushes.Go(func() { r.push.add(r.ctx, "hung", hungSamples(now, r.cfg.MaxAge)) })
}

// finish does all the reporting at exit within the push budget: the exit
// push and the Kuberhealthy report, concurrently; pushes still in flight
// get the same budget.
func (r *report) finish(res result) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.PushBudget)
	defer cancel()
	defer r.cancel()
	stop := context.AfterFunc(ctx, r.cancel)
	defer stop()
	var wg sync.WaitGroup
	if r.push != nil {
		wg.Go(func() { r.pushExit(ctx, res) })
	}
	if kh := khFromEnv(os.Getenv); kh.url != "" {
		wg.Go(func() {
			if err := kh.send(ctx, newKHReport(res.code, res.reason, r.errTail.Lines())); err != nil {
				r.log.Warn("kuberhealthy report failed (the job is not affected)", "err", err)
			}
		})
	}
	wg.Wait()
	r.pushes.Wait()
}

func (r *report) pushExit(ctx context.Context, res result) {
	samples := attemptSamples(res, r.cfg.MaxAge)
	if r.runMode() {
		// The exit push waits for the start push, so that "running 1" can
		// never land after "running 0".
		select {
		case <-r.startDone:
		case <-ctx.Done():
			r.push.failed(fmt.Errorf("push exit metrics: start push still pending: %w", ctx.Err()))
			return
		}
		// Only a failed run needs the count so far: a success resets it, a
		// stopped run leaves it alone. Reading it now, not at start, counts
		// the runs that ended meanwhile.
		var prev float64
		known := false
		if runResult(res.reason) == contract.ResultFailed {
			// At most half of what is left: the exit push itself, which
			// carries the failure, must never be starved by a slow /metrics.
			rctx, cancel := ctx, context.CancelFunc(func() {})
			if d, ok := ctx.Deadline(); ok {
				rctx, cancel = context.WithTimeout(ctx, time.Until(d)/2)
			}
			var err error
			prev, err = r.push.previousFailures(rctx)
			cancel()
			if err == nil {
				known = true
			} else {
				r.push.failed(fmt.Errorf("consecutive failures not read back, not pushed: %w", err))
			}
		}
		samples = append(samples, runSamples(res, r.deadline, prev, known)...)
	}
	r.push.add(ctx, "exit", samples)
}
