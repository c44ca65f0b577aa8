//go:build bench

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrapperUsage is the wrapper's own memory while its child ran (VmRSS at its
// highest sample, VmHWM at the last), and the rate at which the child's
// output came through it.
type wrapperUsage struct {
	RSS, HWM int64 // KiB
	MBps     float64
}

// wrapperMemory runs `jobcheck run -- child...` with its output drained from a
// pipe (as the container runtime does) and samples /proc/PID/status of the
// wrapper itself, the child not included, every 50ms until it exits.
func wrapperMemory(bin, sentinel, pg string, child []string) (wrapperUsage, error) {
	cmd := exec.Command(bin, append([]string{"run", "--sentinel", sentinel, "--pushgateway", pg,
		"--job", "bench-memory", "--namespace", "bench", "--"}, child...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return wrapperUsage{}, fmt.Errorf("wrapper stdout: %w", err)
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return wrapperUsage{}, fmt.Errorf("start wrapper: %w", err)
	}
	copied := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, stdout)
		copied <- n
	}()
	var u wrapperUsage
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			b, err := os.ReadFile(status)
			if err != nil || !strings.Contains(string(b), "VmRSS:") { // gone, or a zombie
				return
			}
			u.RSS = max(u.RSS, statusKiB(string(b), "VmRSS:"))
			u.HWM = max(u.HWM, statusKiB(string(b), "VmHWM:"))
		}
	}()
	n := <-copied
	elapsed := time.Since(start)
	werr := cmd.Wait()
	<-done
	if werr != nil {
		return wrapperUsage{}, fmt.Errorf("wrapper of %v: %w", child, werr)
	}
	if u.RSS == 0 {
		return wrapperUsage{}, fmt.Errorf("wrapper of %v: no memory sample taken", child)
	}
	u.MBps = float64(n) / (1 << 20) / elapsed.Seconds()
	return u, nil
}

// statusKiB reads one "Key:   N kB" line of /proc/PID/status.
func statusKiB(status, key string) int64 {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
