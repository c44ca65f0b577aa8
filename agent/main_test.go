package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// The process tests run the real, statically built binary against a real
// Pushgateway (the Debian package), both started once here, and read what
// was pushed back through the Pushgateway's API.
var (
	binPath string // the built jobcheck
	pg      *pushgatewaytest.Server
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "jobcheck-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "jobcheck")
	if err := buildAgent(binPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pg, err = pushgatewaytest.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pg.Stop()
	return m.Run()
}

// buildAgent builds the agent as it ships: static, stripped.
func buildAgent(out string) error {
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "github.com/jobcheck/jobcheck/cmd/jobcheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build jobcheck: %v\n%s", err, b)
	}
	return nil
}

// proc is what one run of the binary produced.
type proc struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// stderrLines is the non-empty lines the binary wrote to stderr.
func (p proc) stderrLines() []string {
	var out []string
	for _, l := range strings.Split(p.stderr, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// jobcheck runs the binary with args and extra environment, with a clean
// JOBCHECK_*/KH_* environment so the host's cannot leak in.
func jobcheck(t testing.TB, env []string, args ...string) proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := proc{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run jobcheck %v: %v", args, err)
	}
	return r
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JOBCHECK_") && !strings.HasPrefix(kv, "KH_") && !strings.HasPrefix(kv, contract.EnvCompletionIndex+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// jobName is a Pushgateway group of its own for each test, and for each
// run of it (go test -count=2 uses the same Pushgateway).
func jobName(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.NewReplacer("/", "-", "#", "-").Replace(strings.ToLower(t.Name())), runs.Add(1))
}

var runs atomic.Int64

// pgEnv is the environment the webhook would give a one-container job, in
// run mode unless the test adds JOBCHECK_REPORT.
func pgEnv(t *testing.T, job string) []string {
	return []string{
		contract.EnvPushgateway + "=" + pg.URL,
		contract.EnvJob + "=" + job,
		contract.EnvNamespace + "=testns",
		contract.EnvPod + "=" + job + "-abcde",
		contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "main.heartbeat"),
	}
}

// sentinelOf is the sentinel in env.
func sentinelOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, contract.EnvSentinel+"="); ok {
			return v
		}
	}
	return ""
}

func grouping(job string) map[string]string {
	return map[string]string{contract.LabelJob: job, contract.LabelNamespace: "testns"}
}

// group reads a group back through the Pushgateway's API; nil when absent.
func group(t testing.TB, key map[string]string) *pushgatewaytest.Group {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g, err := pg.Group(ctx, key)
	if err != nil {
		t.Fatalf("read the pushgateway: %v", err)
	}
	return g
}

// value returns the single value of metric, failing the test when the
// metric is missing or has several series.
func value(t testing.TB, g *pushgatewaytest.Group, metric string) float64 {
	t.Helper()
	if g == nil {
		t.Fatalf("%s: no group", metric)
	}
	s := g.Metrics[metric]
	if len(s) != 1 {
		t.Fatalf("%s: want exactly 1 series, got %d (%v)", metric, len(s), s)
	}
	return s[0].Value
}

// labelsOf returns the labels (without the grouping key's) of the single
// series of an info metric.
func labelsOf(t testing.TB, g *pushgatewaytest.Group, metric string) map[string]string {
	t.Helper()
	value(t, g, metric)
	out := map[string]string{}
	for k, v := range g.Metrics[metric][0].Labels {
		if _, grouped := g.Labels[k]; !grouped && k != "instance" {
			out[k] = v
		}
	}
	return out
}

// attempt is the reason and detail of the group's last attempt.
func attempt(t testing.TB, g *pushgatewaytest.Group) (reason, detail string) {
	t.Helper()
	l := labelsOf(t, g, contract.MetricLastAttemptInfo)
	return l[contract.LabelReason], l[contract.LabelDetail]
}

// running is a wrapper started in the background, with stdout readable
// line by line, for tests that interact with it.
type running struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *bytes.Buffer
}

func startJobcheck(t *testing.T, env []string, sys *syscall.SysProcAttr, args ...string) *running {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	if sys == nil {
		sys = &syscall.SysProcAttr{}
	}
	// Its own process group, so cleanup can kill the wrapper's child too:
	// a wrapper killed with SIGKILL cannot forward it, and the child would
	// be left running.
	sys.Setpgid = true
	cmd.SysProcAttr = sys
	r := &running{cmd: cmd, stderr: &bytes.Buffer{}, lines: make(chan string, 1000)}
	cmd.Stderr = r.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jobcheck: %v", err)
	}
	go func() {
		defer close(r.lines)
		buf := make([]byte, 4096)
		var line []byte
		for {
			n, err := out.Read(buf)
			for _, b := range buf[:n] {
				if b == '\n' {
					r.lines <- string(line)
					line = line[:0]
				} else {
					line = append(line, b)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	})
	return r
}

// waitLine waits for a stdout line equal to want.
func (r *running) waitLine(t *testing.T, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("stdout closed before %q; stderr: %s", want, r.stderr)
			}
			if l == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no %q on stdout; stderr: %s", want, r.stderr)
		}
	}
}

// wait waits for the wrapper to exit and returns its exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	for range r.lines {
	}
	err := r.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("wait jobcheck: %v", err)
	}
	return r.cmd.ProcessState.ExitCode()
}

// eventually polls cond until it holds, for state that another process
// changes; the bound only keeps a broken test from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}
