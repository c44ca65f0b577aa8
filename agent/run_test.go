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
)

// pgEnv is the environment the webhook would give a one-container job.
func pgEnv(t *testing.T, job string) []string {
	return []string{
		"JOBCHECK_PUSHGATEWAY=" + pgURL,
		"JOBCHECK_JOB=" + job,
		"JOBCHECK_NAMESPACE=testns",
		"JOBCHECK_POD=" + job + "-abcde",
		"JOBCHECK_SENTINEL=" + filepath.Join(t.TempDir(), "main.heartbeat"),
	}
}

func grouping(job string) map[string]string {
	return map[string]string{"job": job, "namespace": "testns"}
}

func TestExitCodesAreTheChildsAndReported(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		argv     []string
		code     int
		reason   string
		stderrIs string // a word the one-line error must contain
	}{
		{"exit 0", []string{"sh", "-c", "exit 0"}, 0, "succeeded", ""},
		{"exit 1", []string{"sh", "-c", "exit 1"}, 1, "failed", ""},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3, "failed", ""},
		{"exit 255", []string{"sh", "-c", "exit 255"}, 255, "failed", ""},
		{"killed by SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 137, "signaled", ""},
		{"killed by SIGTERM", []string{"sh", "-c", "kill -TERM $$"}, 143, "signaled", ""},
		{"missing command", []string{"no-such-command-jobcheck"}, 127, "failed", "no-such-command-jobcheck"},
		{"not executable", []string{notExec}, 126, "failed", notExec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := jobName(t)
			r := jobcheck(t, pgEnv(t, job), append([]string{"run", "--"}, tc.argv...)...)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			if tc.stderrIs != "" {
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], tc.stderrIs) {
					t.Fatalf("want one stderr line naming %q, got %q", tc.stderrIs, r.stderr)
				}
			}
			m := groupMetrics(t, grouping(job))
			if got := value(t, m, mLastExitCode); got != float64(tc.code) {
				t.Errorf("%s = %v, want %d", mLastExitCode, got, tc.code)
			}
			if got := reasonOf(t, m); got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
			if got := value(t, m, mRunning); got != 0 {
				t.Errorf("%s = %v after exit, want 0", mRunning, got)
			}
			for _, name := range []string{mLastStart, mLastCompletion, mLastDuration, mMaxAge, mConsecFailures, mHeartbeat} {
				value(t, m, name)
			}
			success, failure := m[mLastSuccess], m[mLastFailure]
			if (tc.code == 0) != (len(success) == 1) || (tc.code == 0) != (len(failure) == 0) {
				t.Errorf("success %v / failure %v timestamps do not match exit %d", success, failure, tc.code)
			}
		})
	}
}

func TestRunPassesArgvStdioAndSentinel(t *testing.T) {
	env := pgEnv(t, jobName(t))
	r := jobcheck(t, env, "run", "--", "sh", "-c", `printf '%s|' "$@"; echo "$JOBCHECK_SENTINEL"; echo oops >&2`, "sh", "a b", "*", "")
	sentinel := strings.TrimPrefix(env[4], "JOBCHECK_SENTINEL=")
	if want := "a b|*||" + sentinel + "\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q (argv must pass untouched, no shell)", r.stdout, want)
	}
	if r.stderr != "oops\n" {
		t.Errorf("stderr %q, want the child's own", r.stderr)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Errorf("sentinel not created: %v", err)
	}
}

func TestForwardsSIGTERM(t *testing.T) {
	job := jobName(t)
	script := `trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done`
	r := startJobcheck(t, pgEnv(t, job), nil, "run", "--", "sh", "-c", script)
	r.waitLine(t, "ready")
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r.waitLine(t, "got-term")
	if code := r.wait(t); code != 42 {
		t.Fatalf("exit code %d, want 42 (the child's trap); stderr: %s", code, r.stderr)
	}
	if got := reasonOf(t, groupMetrics(t, grouping(job))); got != "failed" {
		t.Errorf("reason %q, want failed", got)
	}
}

func TestOtherSignalsAreForwarded(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2} {
		t.Run(sig.String(), func(t *testing.T) {
			name := strings.TrimPrefix(strings.ToUpper(sigName(sig)), "SIG")
			script := `trap 'echo got; exit 7' ` + name + `; echo ready; while :; do sleep 0.05; done`
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

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGINT: "INT", syscall.SIGHUP: "HUP", syscall.SIGQUIT: "QUIT", syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2"}[s]
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
		if r.code != tc.code || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
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
