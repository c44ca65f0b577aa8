package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// A person's bad flag or missing argument: one line naming it, exit 2.
func TestBadFlagsExit2WithOneLine(t *testing.T) {
	cases := []struct {
		args  []string
		names string
	}{
		{[]string{"run", "--max-age", "soon", "--", "true"}, "max-age"},
		{[]string{"run", "--max-age", "1s", "--", "true"}, "at least 5s"},
		{[]string{"run", "--push-budget", "-1s", "--", "true"}, "push-budget"},
		{[]string{"run", "--nope", "--", "true"}, "nope"},
		{[]string{"run", "--heartbeat", "cpu", "--", "true"}, "heartbeat"},
		{[]string{"run", "--report", "both", "--", "true"}, "report"},
		{[]string{"run", "--pushgateway", "ftp://x", "--", "true"}, "pushgateway"},
		{[]string{"run"}, "no command"},
		{[]string{"probe", "--max-age", "1x", "--sentinel", "/x"}, "max-age"},
		{[]string{"probe"}, contract.EnvSentinel},
		{[]string{"touch", "--bad"}, "bad"},
		{[]string{"install"}, "DEST"},
		{[]string{"frobnicate"}, "frobnicate"},
	}
	for _, tc := range cases {
		r := jobcheck(t, nil, tc.args...)
		lines := r.stderrLines()
		if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], tc.names) {
			t.Errorf("%v: exit %d, stderr %q: want 2 and one line naming %q", tc.args, r.code, r.stderr, tc.names)
		}
	}
}

// A value in the environment that cannot be used never stops the job: the
// default is used and one line names the variable, the value and the
// default.
func TestBadEnvironmentUsesTheDefault(t *testing.T) {
	cases := []struct {
		env, value, used string
	}{
		{contract.EnvMaxAge, "30", contract.DefaultMaxAge.String()},
		{contract.EnvMaxAge, "1s", contract.DefaultMaxAge.String()},
		{contract.EnvHeartbeat, "cpu", contract.HeartbeatProgress},
		{contract.EnvReport, "both", contract.ReportRun},
		{contract.EnvGrace, "-1m", contract.DefaultGrace.String()},
		{contract.EnvPushBudget, "0s", contract.DefaultPushBudget.String()},
		{contract.EnvPushgateway, "ftp://pushgateway", ""},
	}
	for _, tc := range cases {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			job := jobName(t)
			env := append(pgEnv(t, job), tc.env+"="+tc.value)
			r := jobcheck(t, env, "run", "--", "sh", "-c", "exit 3")
			lines := r.stderrLines()
			if r.code != 3 || len(lines) != 1 {
				t.Fatalf("exit %d, stderr %q: want the child's 3 and one line", r.code, r.stderr)
			}
			for _, w := range []string{tc.env, tc.value, "default=" + tc.used} {
				if !strings.Contains(lines[0], w) {
					t.Errorf("line %q does not name %q", lines[0], w)
				}
			}
		})
	}
	// The default is what is in force: the max age pushed, the probe's limit.
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvMaxAge+"=30")
	jobcheck(t, env, "run", "--", "true")
	if got := value(t, group(t, grouping(job)), contract.MetricMaxAge); got != contract.DefaultMaxAge.Seconds() {
		t.Errorf("max age pushed %v, want the default", got)
	}
	old := time.Now().Add(-contract.DefaultMaxAge / 2)
	os.Chtimes(sentinelOf(env), old, old)
	if r := jobcheck(t, env, "probe"); r.code != 0 || len(r.stderrLines()) != 1 {
		t.Errorf("probe with JOBCHECK_MAX_AGE=30 and a sentinel younger than the default: exit %d %q", r.code, r.stderr)
	}
}

// In a pod the webhook injected, no flag stops the job: an unknown or bad
// flag (an older or newer webhook) costs one line, and the command after
// "--" runs as the environment says.
func TestInjectedPodSurvivesBadFlags(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvInjected+"=v9.9.9", contract.EnvMaxAge+"=20m")
	for _, args := range [][]string{
		{"run", "--from-the-future", "x", "--", "sh", "-c", "exit 3"},
		{"run", "--max-age", "soon", "--", "sh", "-c", "exit 3"},
		{"run", "--report=both", "--", "sh", "-c", "exit 3"},
	} {
		r := jobcheck(t, env, args...)
		if r.code != 3 || len(r.stderrLines()) != 1 {
			t.Errorf("%v: exit %d, stderr %q: want the child's 3 and one line", args, r.code, r.stderr)
		}
	}
	if got := value(t, group(t, grouping(job)), contract.MetricMaxAge); got != 20*60 {
		t.Errorf("max age %v: the environment's 20m must still apply", got)
	}
	for _, args := range [][]string{{"probe", "--from-the-future"}, {"touch", "--bad"}} {
		if r := jobcheck(t, env, args...); r.code != 0 {
			t.Errorf("%v in an injected pod: exit %d %q, want 0", args, r.code, r.stderr)
		}
	}
	noSentinel := []string{contract.EnvInjected + "=v1"}
	if r := jobcheck(t, noSentinel, "probe"); r.code != 0 || len(r.stderrLines()) != 1 {
		t.Errorf("probe without a sentinel in an injected pod: exit %d %q, want 0 and a note", r.code, r.stderr)
	}
}

// A sentinel that cannot be written (a missing volume): the command runs,
// with its exit code, heartbeat off, one line; the probe passes.
func TestUnwritableSentinelRunsTheJob(t *testing.T) {
	sentinel := "/nonexistent-jobcheck-volume/main.heartbeat"
	r := jobcheck(t, []string{contract.EnvSentinel + "=" + sentinel}, "run", "--", "sh", "-c", "echo hi; exit 4")
	lines := r.stderrLines()
	if r.code != 4 || r.stdout != "hi\n" || len(lines) != 1 || !strings.Contains(lines[0], "heartbeat off") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	p := jobcheck(t, []string{contract.EnvSentinel + "=" + sentinel}, "probe")
	if p.code != 0 || !strings.Contains(p.stderr, "passing") {
		t.Errorf("probe of a missing sentinel: exit %d %q, want a pass with a note", p.code, p.stderr)
	}
}

// JOBCHECK_ENTRYPOINTS: this platform's argv, then the arguments after "--".
func TestEntrypointsPerPlatform(t *testing.T) {
	platform := contract.Platform(runtime.GOOS, runtime.GOARCH, variant)
	eps, _ := json.Marshal(map[string][]string{
		platform:            {"sh", "-c", `echo "$0|$1|$2"`, "this"},
		"plan9/mips/moon/1": {"false"},
	})
	env := []string{contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb"), contract.EnvEntrypoints + "=" + string(eps)}
	r := jobcheck(t, env, "run", "--", "a b", "c")
	if r.code != 0 || r.stdout != "this|a b|c\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := jobcheck(t, env, "run", "--"); r.code != 0 || r.stdout != "this||\n" {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []string{`{"plan9/mips": ["x"]}`, `["sh"]`, `{"` + platform + `": "sh"}`, `{`} {
		env := []string{contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb"), contract.EnvEntrypoints + "=" + bad}
		r := jobcheck(t, env, "run", "--", "x")
		lines := r.stderrLines()
		if r.code != 127 || len(lines) != 1 || !strings.Contains(lines[0], platform) {
			t.Errorf("%s: exit %d, stderr %q: want 127 and one line naming %s", bad, r.code, r.stderr, platform)
		}
		if strings.Contains(bad, "plan9") && !strings.Contains(lines[0], "plan9/mips") {
			t.Errorf("%s: %q does not list the platforms there are", bad, lines[0])
		}
	}
}

func TestFlagWinsOverEnv(t *testing.T) {
	sentinel := filepath.Join(t.TempDir(), "hb")
	jobcheck(t, nil, "touch", "--sentinel", sentinel)
	r := jobcheck(t, []string{contract.EnvSentinel + "=/nonexistent", contract.EnvMaxAge + "=1m"}, "probe", "--sentinel", sentinel, "--max-age", "1h")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("probe exit %d (%s): flags must win over the environment", r.code, r.stderr)
	}
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(sentinel, old, old)
	if r := jobcheck(t, []string{contract.EnvSentinel + "=" + sentinel, contract.EnvMaxAge + "=1m"}, "probe", "--max-age", "1h"); r.code != 0 {
		t.Errorf("--max-age 1h: exit %d %q", r.code, r.stderr)
	}
	if r := jobcheck(t, []string{contract.EnvSentinel + "=" + sentinel, contract.EnvMaxAge + "=1m"}, "probe"); r.code != 1 {
		t.Errorf("JOBCHECK_MAX_AGE=1m: exit %d, want 1", r.code)
	}
}

func TestHelpForEachCommand(t *testing.T) {
	for _, c := range []string{"run", "probe", "prestop", "touch", "install"} {
		r := jobcheck(t, nil, c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: jobcheck "+c) {
			t.Errorf("%s --help: exit %d, stdout %q", c, r.code, r.stdout)
		}
	}
	r := jobcheck(t, nil, "run", "--help")
	for _, s := range settings() {
		if !strings.Contains(r.stdout, "-"+s.flag) || !strings.Contains(r.stdout, s.env) {
			t.Errorf("run --help does not list --%s with %s", s.flag, s.env)
		}
	}
}

func TestTouchAndProbe(t *testing.T) {
	sentinel := filepath.Join(t.TempDir(), "hb")
	probe := func() proc {
		return jobcheck(t, []string{contract.EnvSentinel + "=" + sentinel, contract.EnvMaxAge + "=1h"}, "probe")
	}
	if r := probe(); r.code != 0 || !strings.Contains(r.stderr, "no heartbeat file") {
		t.Fatalf("probe of a missing sentinel: exit %d %q, want a pass with a note", r.code, r.stderr)
	}
	if r := jobcheck(t, nil, "touch", "--sentinel", sentinel); r.code != 0 {
		t.Fatalf("touch: %d %s", r.code, r.stderr)
	}
	if r := probe(); r.code != 0 || r.stderr != "" {
		t.Fatalf("probe after touch: exit %d %q", r.code, r.stderr)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(sentinel, old, old)
	r := probe()
	if r.code != 1 || !strings.Contains(r.stderr, "old, limit 1h0m0s") || len(r.stderrLines()) != 1 {
		t.Fatalf("probe of a 2h old sentinel: exit %d %q", r.code, r.stderr)
	}
}

// The preStop hook leaves its marker and pushes terminated; the wrapper,
// stopped afterwards, reports the attempt as terminated.
func TestPrestopThenTerminated(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvReport+"="+contract.ReportAttempt)
	sentinel := sentinelOf(env)
	os.WriteFile(contract.MarkerPath(sentinel), nil, 0o644) // a stale marker of an earlier container is removed at start
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", "trap 'exit 1' TERM; echo ready; while :; do echo tick; sleep 0.05; done")
	r.waitLine(t, "ready")
	if _, err := os.Stat(contract.MarkerPath(sentinel)); err == nil {
		t.Fatal("the marker of an earlier container survived the start")
	}
	if p := jobcheck(t, env, "prestop"); p.code != 0 || p.stderr != "" {
		t.Fatalf("prestop exit %d: %s", p.code, p.stderr)
	}
	if _, err := os.Stat(contract.MarkerPath(sentinel)); err != nil {
		t.Fatalf("no marker next to the sentinel: %v", err)
	}
	if reason, _ := attempt(t, group(t, grouping(job))); reason != contract.ReasonTerminated {
		t.Errorf("after prestop: reason %q, want terminated", reason)
	}
	// Only the marker says it: the child gets SIGTERM from elsewhere (the
	// wrapper sees no signal) and exits 1.
	for pid := range childStates(t, r.cmd.Process.Pid) {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	if code := r.wait(t); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if reason, detail := attempt(t, group(t, grouping(job))); reason != contract.ReasonTerminated || detail != "" {
		t.Errorf("attempt %s %q, want terminated", reason, detail)
	}
}

// The preStop hook of an attempt whose sentinel is older than the max age
// (the liveness probe's kill runs it too) pushes hung.
func TestPrestopOfAStaleAttemptPushesHung(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvMaxAge+"=10m")
	sentinel := sentinelOf(env)
	Touch(sentinel, time.Now().Add(-11*time.Minute))
	if p := jobcheck(t, env, "prestop"); p.code != 0 || p.stderr != "" {
		t.Fatalf("prestop: exit %d %q", p.code, p.stderr)
	}
	if reason, detail := attempt(t, group(t, grouping(job))); reason != contract.ReasonHung || detail != "" {
		t.Errorf("attempt %s %q, want hung", reason, detail)
	}
}

func TestPrestopAlwaysSucceeds(t *testing.T) {
	for _, args := range [][]string{{"prestop"}, {"prestop", "--bogus"}, {"prestop", "--max-age", "x"},
		{"prestop", "--sentinel", "/nonexistent/dir/x", "--pushgateway", "http://127.0.0.1:1", "--job", "j"}} {
		if r := jobcheck(t, nil, args...); r.code != 0 {
			t.Errorf("%v: exit %d, want 0", args, r.code)
		}
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
	if r := jobcheck(t, nil, "install", filepath.Join(dir, "missing", "jobcheck")); r.code != 1 || len(r.stderrLines()) != 1 {
		t.Errorf("install into a missing dir: exit %d, stderr %q", r.code, r.stderr)
	}
}
