package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// heartbeat owns the sentinel file. In progress mode it refreshes the file's
// mtime whenever the child showed life since the last check: output, CPU time
// of its process tree, or the app touching the sentinel itself. In file mode
// only the app's own touches keep it fresh. A blocked, silent child therefore
// lets the file go stale, which `jobcheck probe` detects.
type heartbeat struct {
	path string
	mode string
	act  *activity
	cpu  func() (uint64, bool) // CPU ticks of the child's process tree

	mu       sync.Mutex
	ownMtime time.Time // the mtime we set last; a different one means the app touched the file
	lastLife time.Time
	lastOut  uint64
	lastCPU  uint64
	cpuOK    bool
}

// create writes the sentinel at start, so the probe has something to check.
func (h *heartbeat) create(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastLife = now
	if err := touchFile(h.path, now); err != nil {
		return err
	}
	h.ownMtime = mtime(h.path)
	return nil
}

// check looks for signs of life since the last check and refreshes the file
// when it found some (progress mode).
func (h *heartbeat) check(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := mtime(h.path)
	if !m.IsZero() && !m.Equal(h.ownMtime) && m.After(h.lastLife) {
		h.lastLife = m // the app touched the sentinel itself
	}
	if h.mode != ModeProgress {
		return nil
	}
	alive := false
	if out := h.act.load(); out != h.lastOut {
		h.lastOut, alive = out, true
	}
	if c, ok := h.cpu(); ok {
		if h.cpuOK && c != h.lastCPU {
			alive = true
		}
		h.lastCPU, h.cpuOK = c, true
	}
	if !alive {
		return nil
	}
	h.lastLife = now
	if err := touchFile(h.path, now); err != nil {
		return err
	}
	h.ownMtime = mtime(h.path)
	return nil
}

// last is the time of the last sign of life: the newer of what we saw and the
// file's mtime (an app may have touched it since the last check).
func (h *heartbeat) last() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := mtime(h.path); m.After(h.lastLife) {
		return m
	}
	return h.lastLife
}

// refreshPeriod is how often the heartbeat is checked: a quarter of the max
// age, so a live child's sentinel never comes near the limit, but at least 1s.
func refreshPeriod(maxAge time.Duration) time.Duration {
	return max(maxAge/4, time.Second)
}

// pushPeriod is how often the heartbeat timestamp is pushed while running:
// often enough for a "running with a stale heartbeat" alert, rarely enough to
// be no load: a quarter of the max age, within [30s, 5m].
func pushPeriod(maxAge time.Duration) time.Duration {
	return min(max(maxAge/4, 30*time.Second), 5*time.Minute)
}

// touchFile sets path's mtime to now, creating it when missing.
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
