package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// heartbeat owns the sentinel file and the attempt's signs of life. In
// progress mode it refreshes the file's mtime whenever the child showed
// life since the last check: output, CPU time of its process tree, or the
// app touching the sentinel itself. In file mode only the app's touches
// count. A blocked, silent child therefore lets the file go stale, which
// `jobcheck probe` and the wrapper's hung check see.
type heartbeat struct {
	path string
	mode string
	act  *activity
	cpu  func() (uint64, bool) // CPU ticks of the child's process tree; nil: not counted

	mu       sync.Mutex
	ownMtime time.Time // the mtime we set last; another one means the app touched the file
	lastOut  uint64
	lastCPU  uint64 // 0 at start: the child has used no CPU yet
	lives    lifeRing
}

// create writes the sentinel at start, so that the probe has something to
// check; the start counts as a sign of life.
func (h *heartbeat) create(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lives.add(now)
	if err := touchFile(h.path, now); err != nil {
		return err
	}
	h.ownMtime = mtime(h.path)
	return nil
}

// check looks for signs of life since the last check and refreshes the file
// when it found some (progress mode).
func (h *heartbeat) check(now time.Time) error { return h.look(now, true) }

// lastWords looks for signs of life once the child has ended: its output
// and touches, not its CPU time (it is gone from /proc, and reading /proc
// costs a host's worth of files).
func (h *heartbeat) lastWords(now time.Time) error { return h.look(now, false) }

func (h *heartbeat) look(now time.Time, withCPU bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := mtime(h.path); !m.IsZero() && !m.Equal(h.ownMtime) && m.After(h.lives.last()) {
		h.lives.add(m) // the app touched the sentinel itself
	}
	if h.mode != contract.HeartbeatProgress {
		return nil
	}
	alive := false
	if out := h.act.load(); out != h.lastOut {
		h.lastOut, alive = out, true
	}
	if h.cpu != nil && withCPU {
		if c, ok := h.cpu(); ok {
			alive = alive || c != h.lastCPU
			h.lastCPU = c
		}
	}
	if !alive {
		return nil
	}
	h.lives.add(now)
	if err := touchFile(h.path, now); err != nil {
		return err
	}
	h.ownMtime = mtime(h.path)
	return nil
}

// last is the time of the last sign of life: the newer of what the checks
// saw and the file's mtime (the app may have touched it since).
func (h *heartbeat) last() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := mtime(h.path); m.After(h.lives.last()) {
		return m
	}
	return h.lives.last()
}

// staleAt reports whether, at time t, the last sign of life seen at or
// before t was older than maxAge: life seen after t (a JVM's shutdown
// output after the SIGTERM) does not count.
func (h *heartbeat) staleAt(t time.Time, maxAge time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	life, ok := h.lives.at(t)
	return ok && t.Sub(life) > maxAge
}

// lifeRing keeps the latest signs of life, oldest first.
type lifeRing struct {
	t    [64]time.Time
	n    int // how many were ever added
	next int
}

func (r *lifeRing) add(t time.Time) {
	r.t[r.next] = t
	r.next = (r.next + 1) % len(r.t)
	r.n++
}

func (r *lifeRing) last() time.Time {
	if r.n == 0 {
		return time.Time{}
	}
	return r.t[(r.next+len(r.t)-1)%len(r.t)]
}

// at returns the latest sign of life at or before t. It reports false when
// all it kept came after t and older ones were dropped: unknown.
func (r *lifeRing) at(t time.Time) (time.Time, bool) {
	kept := min(r.n, len(r.t))
	for i := 1; i <= kept; i++ {
		if l := r.t[(r.next+len(r.t)-i)%len(r.t)]; !l.After(t) {
			return l, true
		}
	}
	return time.Time{}, false
}

// touchFile sets path's mtime to now, creating the file when missing.
func touchFile(path string, now time.Time) error {
	err := os.Chtimes(path, now, now)
	if errors.Is(err, fs.ErrNotExist) {
		f, cerr := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
		if cerr != nil {
			return fmt.Errorf("create sentinel: %w", cerr)
		}
		f.Close()
		err = os.Chtimes(path, now, now)
	}
	if err != nil {
		return fmt.Errorf("touch sentinel: %w", err)
	}
	return nil
}

func mtime(path string) time.Time {
	st, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}
