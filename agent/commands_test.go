package agent

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The preStop hook leaves its marker; the wrapper, killed afterwards, reports
// the run as terminated. The hook's own push is visible before that.
func TestPrestopThenTerminated(t *testing.T) {
	job := jobName(t)
	env := pgEnv(t, job)
	sentinel := strings.TrimPrefix(env[4], "JOBCHECK_SENTINEL=")
	os.WriteFile(markerPath(sentinel), nil, 0o644) // a stale marker of an earlier container is removed at start
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", "echo ready; while :; do echo tick; sleep 0.05; done")
	r.waitLine(t, "ready")
	if _, err := os.Stat(markerPath(sentinel)); err == nil {
		t.Fatal("the marker of an earlier container survived the start")
	}
	p := jobcheck(t, env, "prestop")
	if p.code != 0 {
		t.Fatalf("prestop exit %d: %s", p.code, p.stderr)
	}
	if _, err := os.Stat(markerPath(sentinel)); err != nil {
		t.Fatalf("no marker next to the sentinel: %v", err)
	}
	if got := reasonOf(t, groupMetrics(t, grouping(job))); got != "terminated" {
		t.Errorf("after prestop: reason %q, want terminated", got)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t); code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
	m := groupMetrics(t, grouping(job))
	if got := reasonOf(t, m); got != "terminated" {
		t.Errorf("reason %q, want terminated", got)
	}
	if got := value(t, m, mRunning); got != 0 {
		t.Errorf("running %v after exit", got)
	}
}

func TestPrestopAlwaysSucceeds(t *testing.T) {
	for _, args := range [][]string{{"prestop"}, {"prestop", "--bogus"}, {"prestop", "--sentinel", "/nonexistent/dir/x", "--pushgateway", "http://127.0.0.1:1", "--job", "j"}} {
		if r := jobcheck(t, nil, args...); r.code != 0 {
			t.Errorf("%v: exit %d, want 0", args, r.code)
		}
	}
}

// A child killed while its heartbeat is stale (the kubelet acting on a failed
// liveness probe) is reported as hung.
func TestKilledWhileStaleIsHung(t *testing.T) {
	job := jobName(t)
	env := pgEnv(t, job)
	sentinel := strings.TrimPrefix(env[4], "JOBCHECK_SENTINEL=")
	r := startJobcheck(t, env, nil, "run", "--max-age", "1s", "--", "sleep", "60")
	// Stale on two probes more than one refresh period (1s) apart: the
	// wrapper saw no life in between.
	stale := 0
	for i := 0; i < 100 && stale < 2; i++ {
		if ok, _ := probeOK(t, sentinel, time.Second); ok {
			stale = 0
			time.Sleep(100 * time.Millisecond)
			continue
		}
		stale++
		if stale < 2 {
			time.Sleep(1200 * time.Millisecond)
		}
	}
	if stale < 2 {
		t.Fatal("the silent child's heartbeat never went stale")
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t); code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
	if got := reasonOf(t, groupMetrics(t, grouping(job))); got != "hung" {
		t.Errorf("reason %q, want hung", got)
	}
}

func TestBadFlagsExit2WithOneLine(t *testing.T) {
	cases := []struct {
		env   []string
		args  []string
		names string
	}{
		{nil, []string{"run", "--max-age", "soon", "--", "true"}, "max-age"},
		{nil, []string{"run", "--push-budget", "-1s", "--", "true"}, "push-budget"},
		{nil, []string{"run", "--nope", "--", "true"}, "nope"},
		{nil, []string{"run", "--heartbeat", "cpu", "--", "true"}, "heartbeat"},
		{nil, []string{"run"}, "no command"},
		{[]string{"JOBCHECK_MAX_AGE=5 minutes"}, []string{"run", "--", "true"}, "JOBCHECK_MAX_AGE"},
		{nil, []string{"probe", "--max-age", "1x", "--sentinel", "/x"}, "max-age"},
		{nil, []string{"probe"}, "JOBCHECK_SENTINEL"},
		{nil, []string{"touch", "--bad"}, "bad"},
		{nil, []string{"install"}, "DEST"},
		{nil, []string{"frobnicate"}, "frobnicate"},
	}
	for _, tc := range cases {
		r := jobcheck(t, tc.env, tc.args...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], tc.names) {
			t.Errorf("%v %v: exit %d, stderr %q: want 2 and one line naming %q", tc.env, tc.args, r.code, r.stderr, tc.names)
		}
	}
}

func TestFlagWinsOverEnv(t *testing.T) {
	sentinel := filepath.Join(t.TempDir(), "hb")
	jobcheck(t, nil, "touch", "--sentinel", sentinel)
	r := jobcheck(t, []string{"JOBCHECK_SENTINEL=/nonexistent", "JOBCHECK_MAX_AGE=bogus"}, "probe", "--sentinel", sentinel, "--max-age", "1h")
	if r.code != 0 {
		t.Fatalf("probe exit %d (%s): flags must win over the environment", r.code, r.stderr)
	}
}

func TestHelpForEachCommand(t *testing.T) {
	for _, c := range []string{"run", "probe", "prestop", "touch", "install"} {
		r := jobcheck(t, nil, c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: jobcheck "+c) {
			t.Errorf("%s --help: exit %d, stdout %q", c, r.code, r.stdout)
		}
	}
	if r := jobcheck(t, nil, "run", "--help"); !strings.Contains(r.stdout, "JOBCHECK_PUSHGATEWAY") || !strings.Contains(r.stdout, "push-budget") {
		t.Errorf("run --help does not list every flag with its env: %s", r.stdout)
	}
}

func TestTouchAndProbe(t *testing.T) {
	sentinel := filepath.Join(t.TempDir(), "hb")
	if ok, msg := probeOK(t, sentinel, time.Hour); ok || !strings.Contains(msg, "no heartbeat") {
		t.Fatalf("probe of a missing sentinel: ok=%v %q", ok, msg)
	}
	if r := jobcheck(t, nil, "touch", "--sentinel", sentinel); r.code != 0 {
		t.Fatalf("touch: %d %s", r.code, r.stderr)
	}
	if ok, msg := probeOK(t, sentinel, time.Hour); !ok {
		t.Fatalf("probe after touch: %s", msg)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(sentinel, old, old)
	ok, msg := probeOK(t, sentinel, time.Hour)
	if ok || !strings.Contains(msg, "old, limit 1h0m0s") || strings.Count(msg, "\n") != 1 {
		t.Fatalf("probe of a 2h old sentinel: ok=%v %q", ok, msg)
	}
}

func TestInstallCopiesAtomicallyWithMode0755(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "jobcheck")
	os.WriteFile(dest, []byte("old"), 0o600) // replaced, not appended to
	if r := jobcheck(t, nil, "install", dest); r.code != 0 {
		t.Fatalf("install: %d %s", r.code, r.stderr)
	}
	want, _ := os.ReadFile(binPath)
	got, _ := os.ReadFile(dest)
	if !bytes.Equal(got, want) {
		t.Fatal("installed file differs from the binary")
	}
	st, _ := os.Stat(dest)
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	out, err := exec.Command(dest, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Errorf("installed binary does not run: %v %q", err, out)
	}
	if r := jobcheck(t, nil, "install", filepath.Join(dir, "missing", "jobcheck")); r.code != 1 || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("install into a missing dir: exit %d, stderr %q", r.code, r.stderr)
	}
}
