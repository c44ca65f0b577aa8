package agent

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// Every way a command can end, in run mode: the wrapper's exit code is the
// child's, and the attempt and the run are reported with the reason that
// says what happened.
func TestExitCodesAndReasons(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name           string
		argv           []string
		code           int
		reason, detail string
		result         string
		stderrIs       string // a word the one-line error must contain
	}{
		{"exit 0", []string{"sh", "-c", "exit 0"}, 0, "succeeded", "", "succeeded", ""},
		{"exit 1", []string{"sh", "-c", "exit 1"}, 1, "failed", "", "failed", ""},
		{"exit 255", []string{"sh", "-c", "exit 255"}, 255, "failed", "", "failed", ""},
		{"exit 143 on its own", []string{"sh", "-c", "exit 143"}, 143, "failed", "", "failed", ""},
		{"killed by SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 137, "signaled", "SIGKILL", "failed", ""},
		{"SIGTERM nobody in Kubernetes sent", []string{"sh", "-c", "kill -TERM $$"}, 143, "signaled", "SIGTERM", "failed", ""},
		{"SIGSEGV", []string{"sh", "-c", "kill -SEGV $$"}, 139, "signaled", "SIGSEGV", "failed", ""},
		{"missing command", []string{"no-such-command-jobcheck"}, 127, "failed", "", "failed", "no-such-command-jobcheck"},
		{"not executable", []string{notExec}, 126, "failed", "", "failed", notExec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := jobName(t)
			before := time.Now()
			r := jobcheck(t, pgEnv(t, job), append([]string{"run", "--"}, tc.argv...)...)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			if tc.stderrIs != "" {
				lines := r.stderrLines()
				if len(lines) != 1 || !strings.Contains(lines[0], tc.stderrIs) {
					t.Fatalf("want one stderr line naming %q, got %q", tc.stderrIs, r.stderr)
				}
			}
			g := group(t, grouping(job))
			if reason, detail := attempt(t, g); reason != tc.reason || detail != tc.detail {
				t.Errorf("attempt reason %q detail %q, want %q %q", reason, detail, tc.reason, tc.detail)
			}
			if got := value(t, g, contract.MetricLastAttemptExitCode); got != float64(tc.code) {
				t.Errorf("exit code metric %v, want %d", got, tc.code)
			}
			end := value(t, g, contract.MetricLastAttemptEnd)
			if end < float64(before.Unix()) || end > float64(time.Now().Unix()+1) {
				t.Errorf("attempt end %v not within the run", end)
			}
			if d := value(t, g, contract.MetricLastAttemptDuration); d < 0 || d > r.elapsed.Seconds() {
				t.Errorf("attempt duration %v, the wrapper ran %s", d, r.elapsed)
			}
			if got := value(t, g, contract.MetricMaxAge); got != contract.DefaultMaxAge.Seconds() {
				t.Errorf("max age %v, want the default %v", got, contract.DefaultMaxAge.Seconds())
			}
			run := labelsOf(t, g, contract.MetricLastRunInfo)
			if run[contract.LabelResult] != tc.result || run[contract.LabelReason] != tc.reason {
				t.Errorf("run info %v, want result %s reason %s", run, tc.result, tc.reason)
			}
			if got := value(t, g, contract.MetricRunning); got != 0 {
				t.Errorf("running %v after exit, want 0", got)
			}
			if got, want := value(t, g, contract.MetricLastCompletion), end; got != want {
				t.Errorf("run completion %v, attempt end %v: the attempt is the run", got, want)
			}
			value(t, g, contract.MetricLastStart)
			value(t, g, contract.MetricLastDuration)
			_, success := g.Metrics[contract.MetricLastSuccess]
			_, failure := g.Metrics[contract.MetricLastFailure]
			if success != (tc.code == 0) || failure == (tc.code == 0) {
				t.Errorf("success %v / failure %v timestamps after exit %d", success, failure, tc.code)
			}
			if tc.code != 0 {
				fi := labelsOf(t, g, contract.MetricLastFailureInfo)
				if fi[contract.LabelReason] != tc.reason || fi[contract.LabelFailedIndexes] != "" {
					t.Errorf("failure info %v, want reason %s", fi, tc.reason)
				}
			}
		})
	}
}

// In attempt mode (the webhook's run watcher reports runs) the agent pushes
// nothing at start and only the attempt metrics at exit.
func TestAttemptModePushesOnlyTheAttempt(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvReport+"="+contract.ReportAttempt)
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", "echo ready; while :; do sleep 0.05; done")
	r.waitLine(t, "ready")
	// The start push of run mode would have been sent before the child
	// started; nothing is there.
	if g := group(t, grouping(job)); g != nil {
		t.Fatalf("attempt mode pushed at start: %v", g.Metrics)
	}
	r.cmd.Process.Signal(syscall.SIGUSR1) // sh dies of it: no trap
	if code := r.wait(t); code != 128+int(syscall.SIGUSR1) {
		t.Fatalf("exit %d", code)
	}
	g := group(t, grouping(job))
	var names []string
	for name := range g.Metrics {
		if !strings.HasPrefix(name, "push_") { // the Pushgateway's own
			names = append(names, name)
		}
	}
	want := []string{contract.MetricLastAttemptDuration, contract.MetricLastAttemptEnd, contract.MetricLastAttemptExitCode,
		contract.MetricLastAttemptInfo, contract.MetricMaxAge}
	if strings.Join(sorted(names), " ") != strings.Join(sorted(want), " ") {
		t.Errorf("attempt mode pushed %v, want exactly %v", sorted(names), sorted(want))
	}
	if reason, detail := attempt(t, g); reason != contract.ReasonSignaled || detail != "SIGUSR1" {
		t.Errorf("attempt %s %s, want signaled SIGUSR1", reason, detail)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Run mode's start push: running, the start, the max age and the next-run
// deadline, in the group of the container and the completion index.
func TestRunModeStartPush(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvContainer+"=worker", contract.EnvSchedule+"=*/10 * * * *",
		contract.EnvGrace+"=1m", contract.EnvMaxAge+"=20m", contract.EnvCompletionIndex+"=3")
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", "echo ready; while :; do sleep 0.05; done")
	r.waitLine(t, "ready")
	key := map[string]string{"job": job, "namespace": "testns", "container": "worker", "index": "3"}
	eventually(t, "the start push", func() bool { return group(t, key) != nil })
	g := group(t, key)
	if got := value(t, g, contract.MetricRunning); got != 1 {
		t.Fatalf("running %v while running, want 1", got)
	}
	start := value(t, g, contract.MetricLastStart)
	if got := value(t, g, contract.MetricMaxAge); got != 20*60 {
		t.Errorf("max age %v, want 1200", got)
	}
	deadline := time.Unix(int64(value(t, g, contract.MetricNextRunDeadline)), 0).UTC()
	if deadline.Minute()%10 != 1 || deadline.Second() != 0 || deadline.Before(time.Unix(int64(start), 0)) {
		t.Errorf("next run deadline %s: want the next */10 minute plus 1m grace", deadline)
	}
	if _, ok := g.Metrics[contract.MetricLastAttemptInfo]; ok {
		t.Errorf("attempt metrics before the attempt ended")
	}
	r.cmd.Process.Signal(syscall.SIGHUP)
	r.wait(t)
	g = group(t, key)
	if got := value(t, g, contract.MetricRunning); got != 0 {
		t.Errorf("running %v after exit, want 0", got)
	}
	if _, ok := g.Metrics[contract.MetricLastSuccessStart]; ok {
		t.Errorf("a failed run pushed a successful run's start")
	}
}

// JOB_COMPLETION_INDEX that is not a non-negative integer is ignored with
// one warning: no index label.
func TestBadCompletionIndexIgnored(t *testing.T) {
	job := jobName(t)
	r := jobcheck(t, append(pgEnv(t, job), contract.EnvCompletionIndex+"=-1"), "run", "--", "true")
	lines := r.stderrLines()
	if r.code != 0 || len(lines) != 1 || !strings.Contains(lines[0], contract.EnvCompletionIndex) || !strings.Contains(lines[0], "-1") {
		t.Fatalf("exit %d, stderr %q: want 0 and one line naming %s and its value", r.code, r.stderr, contract.EnvCompletionIndex)
	}
	if group(t, grouping(job)) == nil {
		t.Errorf("no group without the index label")
	}
}

// The run metrics in run mode over several runs: the last success survives
// failures, the count goes on across runs (read back from the Pushgateway),
// a stopped run changes neither, a success resets it.
func TestRunHistory(t *testing.T) {
	job := jobName(t)
	env := pgEnv(t, job)
	if r := jobcheck(t, env, "run", "--", "true"); r.code != 0 {
		t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
	}
	g := group(t, grouping(job))
	success, successStart := value(t, g, contract.MetricLastSuccess), value(t, g, contract.MetricLastSuccessStart)
	if successStart != value(t, g, contract.MetricLastStart) || successStart > success {
		t.Errorf("success start %v, run start %v, success %v", successStart, value(t, g, contract.MetricLastStart), success)
	}
	if got := value(t, g, contract.MetricConsecutiveFailures); got != 0 {
		t.Errorf("consecutive failures %v after a success", got)
	}
	for i := 1; i <= 2; i++ {
		if r := jobcheck(t, env, "run", "--", "false"); r.code != 1 {
			t.Fatalf("failing run: exit %d: %s", r.code, r.stderr)
		}
		g := group(t, grouping(job))
		if got := value(t, g, contract.MetricLastSuccess); got != success {
			t.Fatalf("after failure %d: last success %v, want %v kept", i, got, success)
		}
		if got := value(t, g, contract.MetricConsecutiveFailures); got != float64(i) {
			t.Errorf("after failure %d: consecutive failures %v", i, got)
		}
		if value(t, g, contract.MetricLastFailure) < success {
			t.Errorf("last failure older than the success before it")
		}
	}
	// A stopped run: the wrapper receives SIGTERM, the child stops.
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", "echo ready; while :; do sleep 0.05; done")
	r.waitLine(t, "ready")
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t); code != 143 {
		t.Fatalf("stopped run: exit %d", code)
	}
	g = group(t, grouping(job))
	if run := labelsOf(t, g, contract.MetricLastRunInfo); run[contract.LabelResult] != contract.ResultStopped || run[contract.LabelReason] != contract.ReasonTerminated {
		t.Errorf("stopped run reported as %v", run)
	}
	if got := value(t, g, contract.MetricConsecutiveFailures); got != 2 {
		t.Errorf("a stopped run changed consecutive failures to %v", got)
	}
	if fi := labelsOf(t, g, contract.MetricLastFailureInfo); fi[contract.LabelReason] != contract.ReasonFailed {
		t.Errorf("a stopped run changed the failure info to %v", fi)
	}
	jobcheck(t, env, "run", "--", "true")
	g = group(t, grouping(job))
	if got := value(t, g, contract.MetricConsecutiveFailures); got != 0 {
		t.Errorf("after a success: consecutive failures %v, want 0", got)
	}
}

func TestRunPassesArgvStdioAndSentinel(t *testing.T) {
	env := pgEnv(t, jobName(t))
	env = append(env, contract.EnvEntrypoints+"=") // empty: not used, and not passed on
	r := jobcheck(t, env, "run", "--", "sh", "-c", `printf '%s|' "$@"; echo "$JOBCHECK_SENTINEL"; echo "${JOBCHECK_ENTRYPOINTS-unset}"; echo oops >&2`, "sh", "a b", "*", "")
	sentinel := sentinelOf(env)
	if want := "a b|*||" + sentinel + "\nunset\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q (argv must pass untouched, no shell)", r.stdout, want)
	}
	if r.stderr != "oops\n" {
		t.Errorf("stderr %q, want the child's own", r.stderr)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Errorf("sentinel not created: %v", err)
	}
}

// A SIGTERM the wrapper receives is forwarded, and means Kubernetes is
// stopping the attempt: terminated, whatever the child does with it.
func TestSIGTERMIsForwardedAndTerminates(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		code         int
		detail       string
	}{
		{"the child traps it", `trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done`, 42, ""},
		{"the child dies of it", `echo ready; while :; do echo tick; sleep 0.05; done`, 143, "SIGTERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := jobName(t)
			r := startJobcheck(t, pgEnv(t, job), nil, "run", "--", "sh", "-c", tc.script)
			r.waitLine(t, "ready")
			r.cmd.Process.Signal(syscall.SIGTERM)
			if code := r.wait(t); code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.code, r.stderr)
			}
			if reason, detail := attempt(t, group(t, grouping(job))); reason != contract.ReasonTerminated || detail != tc.detail {
				t.Errorf("attempt %s %q, want terminated %q", reason, detail, tc.detail)
			}
		})
	}
}

func TestOtherSignalsAreForwarded(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2} {
		t.Run(signalName(sig), func(t *testing.T) {
			script := `trap 'echo got; exit 7' ` + strings.TrimPrefix(signalName(sig), "SIG") + `; echo ready; while :; do sleep 0.05; done`
			r := startJobcheck(t, nil, nil, "run", "--sentinel", filepath.Join(t.TempDir(), "hb"), "--", "sh", "-c", script)
			r.waitLine(t, "ready")
			r.cmd.Process.Signal(sig)
			r.waitLine(t, "got")
			if code := r.wait(t); code != 7 {
				t.Fatalf("exit code %d, want 7", code)
			}
		})
	}
}

// As PID 1 of its own PID namespace, the wrapper must reap orphans that the
// child leaves behind, and still report the child's own exit code.
func TestReapsOrphansAsPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace of its own needs root (CLONE_NEWPID)")
	}
	// Orphans: three short-lived ones that exit at once, one that lives on.
	script := `for i in 1 2 3; do (sh -c 'exit 0' &); done; (sleep 60 &); sleep 0.3; echo ready; while :; do sleep 0.05; done`
	r := startJobcheck(t, nil, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID},
		"run", "--sentinel", filepath.Join(t.TempDir(), "hb"), "--", "sh", "-c", script)
	r.waitLine(t, "ready")
	wrapper := r.cmd.Process.Pid
	var children map[int]byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		children = childStates(t, wrapper)
		zombies := 0
		for _, st := range children {
			if st == 'Z' {
				zombies++
			}
		}
		if zombies == 0 && len(children) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The child (sh) and the long-lived orphan (sleep) are the wrapper's
	// children now; no zombie is left.
	if len(children) < 2 {
		t.Fatalf("wrapper %d has children %v: the orphan was not re-parented to it (not PID 1?)", wrapper, children)
	}
	for pid, st := range children {
		if st == 'Z' {
			t.Errorf("zombie %d left under the wrapper", pid)
		}
	}
	r.cmd.Process.Signal(syscall.SIGUSR1) // the child has no trap: it dies of SIGUSR1
	if code := r.wait(t); code != 128+int(syscall.SIGUSR1) {
		t.Fatalf("exit code %d, want %d", code, 128+int(syscall.SIGUSR1))
	}
}

// childStates lists the processes whose parent is pid, with their state letter.
func childStates(t *testing.T, pid int) map[int]byte {
	t.Helper()
	out := map[int]byte{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(f[1])
		p, perr := strconv.Atoi(e.Name())
		if err != nil || perr != nil || ppid != pid {
			continue
		}
		out[p] = f[0][0]
	}
	return out
}

// A signal the wrapper was started with ignored (nohup, a shell's trap "")
// stays ignored, for the wrapper and the child alike, as it would unwrapped.
func TestIgnoredSignalStaysIgnored(t *testing.T) {
	sentinel := filepath.Join(t.TempDir(), "hb")
	cmd := exec.Command("sh", "-c", `trap "" HUP; exec "$0" run --sentinel "$1" -- sh -c 'echo ready; sleep 1; echo done'`, binPath, sentinel)
	out := startPiped(t, cmd)
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("first line %q, want ready", lines.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil { // the wrapper: sh exec'd it
		t.Fatal(err)
	}
	if !lines.Scan() || lines.Text() != "done" {
		t.Errorf("the child did not finish after an ignored SIGHUP: got %q", lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("wrapper: %v, want exit 0", err)
	}
}

// `jobcheck run -- yes | head -1`: when the reader of the wrapper's stdout
// goes away, the child meets the broken pipe and ends, as it would unwrapped.
func TestClosedStdoutEndsAWritingChild(t *testing.T) {
	cmd := exec.Command(binPath, "run", "--sentinel", filepath.Join(t.TempDir(), "hb"), "--", "yes")
	out := startPiped(t, cmd)
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "y\n" {
		t.Fatalf("first line %q (%v), want y", line, err)
	}
	out.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGPIPE) {
			t.Errorf("exit code %d, want %d (the child's SIGPIPE)", code, 128+int(syscall.SIGPIPE))
		}
	case <-time.After(20 * time.Second): // a bound for a hang, not a timing assertion
		t.Fatal("the child kept writing to a closed stdout")
	}
}

// The shell's codes also for commands looked up in $PATH: a file there without
// the x bit is 126 (exec.LookPath alone would say "not found"), an empty
// command name 127.
func TestStartErrorsThroughPATH(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-executable"), []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	for _, tc := range []struct {
		name string
		code int
	}{{"not-executable", 126}, {"", 127}} {
		r := jobcheck(t, env, "run", "--sentinel", filepath.Join(dir, "hb"), "--", tc.name)
		if r.code != tc.code || len(r.stderrLines()) != 1 {
			t.Errorf("command %q: exit %d, stderr %q; want %d and one line", tc.name, r.code, r.stderr, tc.code)
		}
	}
}

// startPiped starts cmd in a process group of its own (killed whole at
// cleanup) and returns its stdout, for tests that own the pipe themselves.
func startPiped(t *testing.T, cmd *exec.Cmd) io.ReadCloser {
	t.Helper()
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return out
}
