//go:build bench

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// wrapperUsage is the wrapper's own memory (its child not included) and the
// rate at which its child's output came through it.
type wrapperUsage struct {
	peak
	MBps float64
}

// wrapperMemory runs `jobcheck run [flags] -- child...` with its output
// drained from a pipe, as a container runtime drains it, and returns the
// wrapper's own peak (measurePeak).
func wrapperMemory(bin string, flags []string, env []string, child []string) (wrapperUsage, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return wrapperUsage{}, fmt.Errorf("output pipe: %w", err)
	}
	defer r.Close()
	copied := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, r)
		copied <- n
	}()
	argv := append(append(append([]string{bin, "run"}, flags...), "--"), child...)
	start := time.Now()
	p, err := measurePeak(argv, env, w, os.Stderr)
	elapsed := time.Since(start)
	w.Close()
	n := <-copied
	if err != nil {
		return wrapperUsage{}, err
	}
	if p.Code != 0 {
		return wrapperUsage{}, fmt.Errorf("%v: exit code %d", argv, p.Code)
	}
	return wrapperUsage{peak: p, MBps: float64(n) / 1e6 / elapsed.Seconds()}, nil
}

// statusKiB reads one "Key:   N kB" line of /proc/PID/status (or /proc/meminfo).
func statusKiB(status, key string) int64 {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
