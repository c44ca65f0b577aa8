package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The figures the README quotes come from these benchmarks (make bench):
// the wrapper's added start-to-exit time and memory, the probe's run time,
// and the binary's size.

// benchExec runs argv once per iteration, start to exit. Besides the mean
// (ns/op) it reports the fastest run (min-ms) and the mean CPU time of the
// process and its children (cpu-ms): on a machine shared with other work,
// these are the steadier figures of the cost itself.
func benchExec(b *testing.B, env []string, argv ...string) {
	b.Helper()
	fastest := time.Duration(1<<63 - 1)
	var cpu time.Duration
	n := 0
	for b.Loop() {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(cleanEnv(), env...)
		t := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %v", argv, err)
		}
		fastest = min(fastest, time.Since(t))
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		n++
	}
	b.ReportMetric(float64(fastest.Microseconds())/1000, "min-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms")
}

// BenchmarkTrueBare is the baseline: /bin/true with no wrapper.
func BenchmarkTrueBare(b *testing.B) {
	benchExec(b, nil, "/bin/true")
}

// BenchmarkRunTrue is `jobcheck run -- true` with no Pushgateway: the
// wrapper's own cost (minus BenchmarkTrueBare).
func BenchmarkRunTrue(b *testing.B) {
	benchExec(b, []string{"JOBCHECK_SENTINEL=" + filepath.Join(b.TempDir(), "hb")}, binPath, "run", "--", "/bin/true")
}

// BenchmarkRunTruePushgateway adds the start and exit pushes to a real
// Pushgateway on loopback (and the read-back of the failure count).
func BenchmarkRunTruePushgateway(b *testing.B) {
	env := []string{"JOBCHECK_SENTINEL=" + filepath.Join(b.TempDir(), "hb"), "JOBCHECK_PUSHGATEWAY=" + pgURL,
		"JOBCHECK_JOB=bench", "JOBCHECK_NAMESPACE=bench"}
	benchExec(b, env, binPath, "run", "--", "/bin/true")
}

// BenchmarkRunMemory reports the wrapper's own peak RSS (VmHWM, its child
// not included) while it runs a child for 200ms with heartbeat and pushes.
// ProcessState's ru_maxrss cannot be used: Go starts children with
// CLONE_VM, so the test binary's RSS would be counted in.
func BenchmarkRunMemory(b *testing.B) {
	env := []string{"JOBCHECK_SENTINEL=" + filepath.Join(b.TempDir(), "hb"), "JOBCHECK_PUSHGATEWAY=" + pgURL,
		"JOBCHECK_JOB=bench", "JOBCHECK_NAMESPACE=bench", "JOBCHECK_MAX_AGE=1s"}
	var peak, rss int64
	for b.Loop() {
		cmd := exec.Command(binPath, "run", "--", "sh", "-c", "echo x; sleep 0.2")
		cmd.Env = append(cleanEnv(), env...)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, statusKiB(string(status), "VmHWM:"))
		rss = max(rss, statusKiB(string(status), "VmRSS:"))
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak), "VmHWM-KiB")
	b.ReportMetric(float64(rss), "VmRSS-KiB")
}

func statusKiB(status, key string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkProbe is one liveness probe run: process start, stat, exit.
func BenchmarkProbe(b *testing.B) {
	sentinel := filepath.Join(b.TempDir(), "hb")
	if err := Touch(sentinel, time.Now()); err != nil {
		b.Fatal(err)
	}
	benchExec(b, []string{"JOBCHECK_SENTINEL=" + sentinel, "JOBCHECK_MAX_AGE=1h"}, binPath, "probe")
}

// BenchmarkBinarySize reports the size of the static, stripped binary.
func BenchmarkBinarySize(b *testing.B) {
	st, err := os.Stat(binPath)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
	}
	b.ReportMetric(float64(st.Size()), "bytes")
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
}
