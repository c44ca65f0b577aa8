package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// The figures of docs/agent.md come from these benchmarks and from
// hyperfine (hack/bench.sh): the wrapper's added start-to-exit time and
// memory, the probe's run time, the binary's size, and the memory of the
// read-back against a Pushgateway of 10,000 groups.

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
	benchExec(b, []string{contract.EnvSentinel + "=" + filepath.Join(b.TempDir(), "hb")}, binPath, "run", "--", "/bin/true")
}

// BenchmarkRunTruePushgateway adds run mode's start and exit pushes to a
// real Pushgateway on loopback.
func BenchmarkRunTruePushgateway(b *testing.B) {
	env := []string{contract.EnvSentinel + "=" + filepath.Join(b.TempDir(), "hb"), contract.EnvPushgateway + "=" + pg.URL,
		contract.EnvJob + "=bench", contract.EnvNamespace + "=bench"}
	benchExec(b, env, binPath, "run", "--", "/bin/true")
}

// BenchmarkProbe is one liveness probe run: process start, stat, exit.
func BenchmarkProbe(b *testing.B) {
	sentinel := filepath.Join(b.TempDir(), "hb")
	if err := Touch(sentinel, time.Now()); err != nil {
		b.Fatal(err)
	}
	benchExec(b, []string{contract.EnvSentinel + "=" + sentinel, contract.EnvMaxAge + "=1h"}, binPath, "probe")
}

// BenchmarkRunMemory reports the wrapper's own resident memory (VmRSS) and
// peak (VmHWM), its child not included, while its child runs silent, writes
// about 1 MB/s, or writes as fast as it can (to /dev/null through the
// wrapper). ProcessState's ru_maxrss cannot be used: Go starts children
// with CLONE_VM, so the test binary's RSS would be counted in.
func BenchmarkRunMemory(b *testing.B) {
	for _, tc := range []struct{ name, script string }{
		{"silent", "sleep 1"},
		{"1MBps", "for i in 1 2 3 4 5 6 7 8 9 10; do head -c 100000 /dev/zero; sleep 0.1; done"},
		{"full-speed", "timeout 1.5 yes; true"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := []string{contract.EnvSentinel + "=" + filepath.Join(b.TempDir(), "hb"), contract.EnvPushgateway + "=" + pg.URL,
				contract.EnvJob + "=bench", contract.EnvNamespace + "=bench", contract.EnvMaxAge + "=5s"}
			var peak, rss int64
			for b.Loop() {
				cmd := exec.Command(binPath, "run", "--", "sh", "-c", tc.script)
				cmd.Env = append(cleanEnv(), env...)
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				time.Sleep(700 * time.Millisecond)
				status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
				peak = max(peak, statusKiB(string(status), "VmHWM:"))
				rss = max(rss, statusKiB(string(status), "VmRSS:"))
			}
			b.ReportMetric(float64(peak), "VmHWM-KiB")
			b.ReportMetric(float64(rss), "VmRSS-KiB")
		})
	}
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

// BenchmarkReadBackMemory is the peak memory of `jobcheck run` in run mode
// against a real Pushgateway holding 10,000 groups of a run's metrics,
// against the same with an empty one: the read-back of the failure count
// streams /metrics, so the difference stays small. A failed run reads back
// (false); a successful one (true) has no need to. The peak is the
// wrapper's ru_maxrss, measured by /usr/bin/time, which forks it (not with
// CLONE_VM as Go would, which would count this test's memory in).
func BenchmarkReadBackMemory(b *testing.B) {
	dir := b.TempDir()
	big, err := pushgatewaytest.Start(dir, "--push.disable-consistency-check") // else each push checks all 10,000 groups
	if err != nil {
		b.Fatal(err)
	}
	defer big.Stop()
	measure := func(argv ...string) int64 {
		var peak int64
		for range 5 {
			env := []string{contract.EnvSentinel + "=" + filepath.Join(dir, "hb"), contract.EnvPushgateway + "=" + big.URL,
				contract.EnvJob + "=bench", contract.EnvNamespace + "=bench"}
			cmd := exec.Command("/usr/bin/time", append([]string{"-f", "maxrss %M"}, argv...)...)
			cmd.Env = append(cleanEnv(), env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			var kib int64
			if _, err := fmt.Sscanf(stderr.String()[strings.LastIndex(stderr.String(), "maxrss "):], "maxrss %d", &kib); err != nil {
				b.Fatalf("%v: %q", argv, stderr.String())
			}
			peak = max(peak, kib)
		}
		return peak
	}
	var emptyFalse, emptyTrue, fullFalse, fullTrue int64
	for b.Loop() {
		emptyFalse, emptyTrue = measure(binPath, "run", "--", "false"), measure(binPath, "run", "--", "true")
		fill(b, big.URL, 10000)
		fullFalse, fullTrue = measure(binPath, "run", "--", "false"), measure(binPath, "run", "--", "true")
	}
	// The count went on through all that: the read-back found it among
	// 10,000 groups within the push budget.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := big.Group(ctx, map[string]string{"job": "bench", "namespace": "bench"})
	if err != nil || g == nil {
		b.Fatalf("bench group: %v", err)
	}
	if v, _ := g.Value(contract.MetricLastAttemptInfo, map[string]string{"reason": "succeeded"}); v != 1 {
		b.Fatalf("the last run is not reported: %v", g.Metrics)
	}
	b.ReportMetric(float64(emptyFalse), "false-empty-KiB")
	b.ReportMetric(float64(fullFalse), "false-10k-KiB")
	b.ReportMetric(float64(fullFalse-emptyFalse), "false-added-KiB")
	b.ReportMetric(float64(emptyTrue), "true-empty-KiB")
	b.ReportMetric(float64(fullTrue), "true-10k-KiB")
}

// fill pushes n groups of a run's metrics, as n workloads would.
func fill(b *testing.B, url string, n int) {
	c, err := pushgateway.New(url, nil, contract.Help)
	if err != nil {
		b.Fatal(err)
	}
	res := result{start: time.Now().Add(-time.Minute), end: time.Now(), code: 1, reason: contract.ReasonFailed}
	samples := append(attemptSamples(res, time.Hour), runSamples(res, time.Now().Add(time.Hour), 3, true)...)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.Add(ctx, contract.Grouping(fmt.Sprintf("workload-%05d", i), "ns-"+strconv.Itoa(i%50), "", ""), samples)
				cancel()
				if err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
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
