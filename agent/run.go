package agent

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"
)

// relayDrain bounds the wait for the child's output pipes after it exited: a
// grandchild that inherited them must not keep the wrapper alive.
const relayDrain = 500 * time.Millisecond

// Run runs argv as the wrapped command and returns the wrapper's exit code:
// the child's own, 128+N for death by signal N, 127/126 when it cannot be
// started. Reporting happens around it and never changes that code.
func Run(cfg Config, argv []string, log *slog.Logger) int {
	// First: a SIGTERM that arrives while the wrapper sets up must wait for
	// the child, not end the wrapper (as PID 1, Go would exit 2 for it).
	fwd := newSignalForwarder()
	cfg.fillDefaults(argv)
	start := time.Now()
	deadline, err := nextRunDeadline(cfg.Schedule, cfg.Timezone, start, cfg.Grace)
	if err != nil {
		log.Warn("no next-run deadline", "err", err)
	}
	oom := systemOOMCounter()
	oomBefore, oomOK := oom.read()
	os.Remove(markerPath(cfg.Sentinel)) // a marker from a previous container of this pod

	act := &activity{}
	errTail := newTail(tailLines)
	hb := &heartbeat{path: cfg.Sentinel, mode: cfg.Heartbeat, act: act}
	if err := hb.create(start); err != nil {
		log.Warn("heartbeat disabled", "sentinel", cfg.Sentinel, "err", err)
	}
	rep := &runReport{cfg: cfg, log: log, pg: newReporter(cfg, log), deadline: deadline, errTail: errTail}
	rep.begin(start) // concurrently: the child's start must not wait for the network

	var rp *reaper
	if os.Getpid() == 1 {
		rp = newReaper()
	}
	env := append(os.Environ(), "JOBCHECK_SENTINEL="+cfg.Sentinel)
	c, err := startChild(argv, env, os.Stdout, os.Stderr, act, errTail)
	if err != nil {
		code := startErrorCode(argv[0], err)
		log.Error("cannot run command", "command", argv[0], "err", err)
		errTail.Write([]byte(err.Error() + "\n"))
		rep.finish(result{start: start, end: time.Now(), code: code, reason: outcome{}.reason()})
		return code
	}
	if rp != nil {
		go rp.run(c)
	} else {
		go c.waitDirect()
	}
	go fwd.forward(c.proc, c.done)

	end := watch(c, hb, rep, cfg.MaxAge)

	if rp != nil { // orphans may still exit while we report
		stopReaping := make(chan struct{})
		defer close(stopReaping)
		go keepReaping(stopReaping)
	}
	c.drain(relayDrain)

	o := outcome{status: c.status, started: true}
	if n, ok := oom.read(); oomOK && ok && n > oomBefore {
		o.oomKills = true
	}
	o.stale = end.Sub(hb.last()) > cfg.MaxAge
	if _, err := os.Stat(markerPath(cfg.Sentinel)); err == nil {
		o.terminated = true
	}
	res := result{start: start, end: end, code: exitCode(c.status), reason: o.reason()}
	rep.finish(res)
	return res.code
}

// watch keeps the heartbeat and pushes it periodically until the child exits,
// and returns when it did.
func watch(c *child, hb *heartbeat, rep *runReport, maxAge time.Duration) time.Time {
	procFS, fsErr := procfs.NewDefaultFS()
	hb.cpu = func() (uint64, bool) {
		if fsErr != nil {
			return 0, false
		}
		return treeCPU(procFS, c.proc.Pid)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var pushes sync.WaitGroup
	defer pushes.Wait()
	defer cancel()
	refreshT := time.NewTicker(refreshPeriod(maxAge))
	defer refreshT.Stop()
	pushT := time.NewTicker(pushPeriod(maxAge))
	defer pushT.Stop()
	for {
		select {
		case <-c.done:
			return time.Now()
		case now := <-refreshT.C:
			if err := hb.check(now); err != nil {
				rep.log.Debug("heartbeat", "err", err)
			}
		case <-pushT.C:
			if rep.pg != nil {
				last := hb.last()
				pushes.Go(func() {
					rep.pg.add(ctx, "heartbeat", []prometheus.Collector{heartbeatMetric(last)})
				})
			}
		}
	}
}
