package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The process tests run the real, statically built binary against a real
// Pushgateway (the Debian package), both started once here.
var (
	binPath string // the built jobcheck
	pgURL   string // the real Pushgateway
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
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binPath, "github.com/jobcheck/jobcheck/cmd/jobcheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build jobcheck: %v\n%s", err, out)
		return 1
	}
	stop, err := startPushgateway(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

const pushgatewayBin = "/usr/bin/prometheus-pushgateway"

// startPushgateway runs the real Pushgateway on a free loopback port, without
// persistence, and waits until it is ready.
func startPushgateway(dir string) (stop func(), err error) {
	if _, err := os.Stat(pushgatewayBin); err != nil {
		return nil, fmt.Errorf("%s missing: run hack/deps.sh agent: %w", pushgatewayBin, err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "pushgateway.log"))
	if err != nil {
		return nil, err
	}
	// Debian's build persists to /var/lib/prometheus/pushgateway.data unless
	// told otherwise: every test run must start empty and write nothing there.
	cmd := exec.Command(pushgatewayBin, "--web.listen-address="+addr, "--persistence.file=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pushgateway: %w", err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	}
	pgURL = "http://" + addr
	for i := 0; i < 200; i++ {
		resp, err := http.Get(pgURL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	log, _ := os.ReadFile(logf.Name())
	return nil, fmt.Errorf("pushgateway on %s not ready:\n%s", addr, log)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// runResult is what one run of the binary produced.
type runResult struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
	state          *os.ProcessState
}

// jobcheck runs the binary with args and extra environment, with a clean
// JOBCHECK_*/KH_* environment so the host's cannot leak in.
func jobcheck(t testing.TB, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := runResult{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start), state: cmd.ProcessState}
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
		if !strings.HasPrefix(kv, "JOBCHECK_") && !strings.HasPrefix(kv, "KH_") {
			env = append(env, kv)
		}
	}
	return env
}

// jobName is a Pushgateway group of its own for each test.
func jobName(t testing.TB) string {
	return strings.NewReplacer("/", "-", "#", "-").Replace(strings.ToLower(t.Name()))
}

// series is one pushed sample read back from the Pushgateway.
type series struct {
	labels map[string]string
	value  float64
}

// groupMetrics reads our group back through GET /api/v1/metrics: metric name
// to its series. The group is matched by its exact grouping key.
func groupMetrics(t testing.TB, grouping map[string]string) map[string][]series {
	t.Helper()
	resp, err := http.Get(pgURL + "/api/v1/metrics")
	if err != nil {
		t.Fatalf("read pushgateway: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode pushgateway api: %v", err)
	}
	for _, g := range body.Data {
		var labels map[string]string
		json.Unmarshal(g["labels"], &labels)
		if !equalMaps(labels, grouping) {
			continue
		}
		out := map[string][]series{}
		for name, raw := range g {
			var fam struct {
				Metrics []struct {
					Labels map[string]string `json:"labels"`
					Value  string            `json:"value"`
				} `json:"metrics"`
			}
			if json.Unmarshal(raw, &fam) != nil {
				continue
			}
			for _, m := range fam.Metrics {
				v, _ := strconv.ParseFloat(m.Value, 64)
				out[name] = append(out[name], series{labels: m.Labels, value: v})
			}
		}
		return out
	}
	return nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// value returns the single value of metric name, failing the test when the
// metric is missing or has several series.
func value(t testing.TB, m map[string][]series, name string) float64 {
	t.Helper()
	s := m[name]
	if len(s) != 1 {
		t.Fatalf("%s: want exactly 1 series, got %d (%v)", name, len(s), s)
	}
	return s[0].value
}

// reasonOf returns the single reason label of jobcheck_last_run_info.
func reasonOf(t testing.TB, m map[string][]series) string {
	t.Helper()
	s := m[mLastRunInfo]
	if len(s) != 1 {
		t.Fatalf("%s: want exactly one reason, got %v", mLastRunInfo, s)
	}
	return s[0].labels["reason"]
}

// startJobcheck starts the binary in the background, with stdout readable
// line by line, for tests that interact with a running wrapper.
type running struct {
	cmd    *exec.Cmd
	stdout *bytes.Buffer
	lines  chan string
	stderr *bytes.Buffer
	done   chan struct{}
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
	r := &running{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, lines: make(chan string, 100), done: make(chan struct{})}
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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
