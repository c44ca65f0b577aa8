package agent

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jobcheck/jobcheck/agent/textlog"
	"github.com/jobcheck/jobcheck/contract"
)

// relayDrain bounds the wait for the child's output pipes after it exited: a
// grandchild that inherited them must not keep the wrapper alive.
const relayDrain = 500 * time.Millisecond

// Run runs argv as the wrapped command and returns the wrapper's exit code:
// the child's own, 128+N for death by signal N, 127/126 when it cannot be
// started. Reporting happens around it and never changes that code.
func Run(cfg Config, argv []string, log *textlog.Logger) int {
	// One P: the wrapper only relays output and reports, and with more the
	// runtime would start threads to run its few goroutines in parallel,
	// which costs every job more at its start than it could ever save.
	runtime.GOMAXPROCS(1)
	// First: a SIGTERM that arrives while the wrapper sets up must wait for
	// the child, not end the wrapper (as PID 1, Go would exit 2 for it).
	fwd := newSignalForwarder()
	cfg.fillDefaults(argv)
	start := time.Now()
	oom := systemOOMCounter()
	oomBefore, oomOK := oom.read()
	os.Remove(contract.MarkerPath(cfg.Sentinel)) // a marker from a previous container of this pod

	act := &activity{}
	errTail := newTail(tailLines)
	hb := &heartbeat{path: cfg.Sentinel, mode: cfg.Heartbeat, act: act}
	if err := hb.create(start); err != nil {
		log.Warn("heartbeat off: the sentinel cannot be written; the job runs, the liveness probe passes", "sentinel", cfg.Sentinel, "err", err)
		hb = nil
	}
	rep := newReport(cfg, log, start, errTail)
	rep.begin()

	rp := newReaper()
	c, err := startChild(argv, childEnv(cfg.Sentinel), os.Stdout, os.Stderr, act, errTail)
	if err != nil {
		code := startErrorCode(argv[0], err)
		log.Error("cannot run command", "command", argv[0], "err", err)
		errTail.Write([]byte(err.Error() + "\n"))
		rep.finish(result{start: start, end: time.Now(), code: code, reason: outcome{}.reason()})
		return code
	}
	go rp.run(c)
	w := &watcher{hb: hb, maxAge: cfg.MaxAge, rep: rep}
	if hb != nil && cfg.Heartbeat == contract.HeartbeatProgress {
		cpu := &cpuReader{proc: "/proc"} // read only once the first check comes
		hb.cpu = func() (uint64, bool) { return cpu.treeCPU(c.pid) }
	}
	go fwd.forward(c, w.terminating)

	end := w.watch(c.done)

	if rp.all { // orphans may still exit while we report
		stopReaping := make(chan struct{})
		defer close(stopReaping)
		go rp.keepReaping(stopReaping)
	}
	c.drain(relayDrain)

	o := outcome{status: c.status, started: true}
	if n, ok := oom.read(); oomOK && ok && n > oomBefore {
		o.oomKill = true
	}
	o.terminating, o.stale = w.verdict(cfg.Sentinel, end)
	res := result{start: start, end: end, code: exitCode(c.status), reason: o.reason(), detail: o.detail()}
	rep.finish(res)
	return res.code
}

// childEnv is the wrapper's environment for the child, with the sentinel
// the wrapper keeps (the app may touch it) and without the entrypoints,
// which were for this wrapper only.
func childEnv(sentinel string) []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, contract.EnvEntrypoints+"=") && !strings.HasPrefix(kv, contract.EnvSentinel+"=") {
			out = append(out, kv)
		}
	}
	return append(out, contract.EnvSentinel+"="+sentinel)
}

// watcher keeps the heartbeat while the child runs, reports the attempt
// hung when it goes stale, and remembers when termination began.
type watcher struct {
	hb     *heartbeat // nil: heartbeat off
	maxAge time.Duration
	rep    *report

	mu     sync.Mutex
	termAt time.Time // the first SIGTERM or SIGINT the wrapper received
}

// terminating is called when the wrapper receives SIGTERM or SIGINT, before
// the child does: the signs of life until now are collected, so that the
// staleness is judged as it was when termination began.
func (w *watcher) terminating(now time.Time) {
	if w.hb != nil {
		w.hb.check(now)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.termAt.IsZero() {
		w.termAt = now
	}
}

// watch checks for signs of life every refresh period, and reports the
// attempt hung as soon as its last sign of life is older than the max age
// and again every contract.HungRepushPeriod while it stays so. It returns
// when done is closed, with the time.
func (w *watcher) watch(done <-chan struct{}) time.Time {
	if w.hb == nil {
		<-done
		return time.Now()
	}
	var st hungState
	st.nextCheck = time.Now().Add(contract.RefreshPeriod(w.maxAge))
	t := time.NewTimer(time.Until(st.nextCheck))
	defer t.Stop()
	for {
		select {
		case <-done:
			// What the child did since the last check counts too (its
			// last words before it died), up to its end.
			end := time.Now()
			w.hb.lastWords(end)
			return end
		case now := <-t.C:
			if err := w.hb.check(now); err != nil {
				w.rep.log.Debug("heartbeat", "err", err)
			}
			wasHung := !st.hungAt.IsZero()
			push, next := st.step(now, w.hb.last(), w.maxAge)
			if push {
				if !wasHung {
					w.rep.log.Warn("no sign of life for longer than the max age: the attempt is hung", "max_age", w.maxAge)
				}
				w.rep.hung(now)
			}
			t.Reset(max(time.Until(next), time.Millisecond))
		}
	}
}

// hungState is the watcher's schedule: when to look for signs of life next,
// and since when the attempt is reported hung.
type hungState struct {
	nextCheck time.Time // the next refresh
	hungAt    time.Time // the latest hung push; zero while not hung
}

// step decides, at a wake-up at now with the last sign of life at last,
// whether to push that the attempt is hung, and when to wake up next: at
// the next refresh, or earlier the moment the attempt goes stale, or, while
// it is hung, when the hung push is due again.
func (s *hungState) step(now, last time.Time, maxAge time.Duration) (push bool, next time.Time) {
	if !now.Before(s.nextCheck) {
		s.nextCheck = now.Add(contract.RefreshPeriod(maxAge))
	}
	staleAt := last.Add(maxAge) // stale once older than maxAge, as the probe says
	switch {
	case !now.After(staleAt):
		s.hungAt = time.Time{}
	case s.hungAt.IsZero() || now.Sub(s.hungAt) >= contract.HungRepushPeriod:
		s.hungAt, push = now, true
	}
	next = s.nextCheck
	if s.hungAt.IsZero() {
		next = earliest(next, staleAt.Add(time.Millisecond))
	} else {
		next = earliest(next, s.hungAt.Add(contract.HungRepushPeriod))
	}
	return push, next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// verdict says whether termination began (the wrapper received SIGTERM or
// SIGINT, or the preStop marker appeared) and whether the heartbeat was
// stale then, or, without termination, at the end.
func (w *watcher) verdict(sentinel string, end time.Time) (terminating, stale bool) {
	w.mu.Lock()
	at := w.termAt
	w.mu.Unlock()
	if m, ok := markerTime(sentinel); ok && (at.IsZero() || m.Before(at)) {
		at = m
	}
	if at.IsZero() {
		at = end
	} else {
		terminating = true
	}
	if w.hb != nil {
		stale = w.hb.staleAt(at, w.maxAge)
	}
	return terminating, stale
}
