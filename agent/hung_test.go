package agent

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// hungMaxAge is the shortest max age there is: the hung tests wait for it.
const hungMaxAge = contract.MinMaxAge

// A hung process that traps SIGTERM (a JVM, Python, Node) and exits 143
// after the liveness probe's kill is hung, not terminated, even though it
// prints its shutdown output after the SIGTERM: staleness is judged when
// termination begins. The wrapper pushes MetricLastHung as soon as the
// attempt goes stale, before the kill.
func TestHungProcessThatTrapsSIGTERMIsHung(t *testing.T) {
	// The child is silent and uses no CPU until SIGTERM; then it talks and
	// works for a while, and exits 143 as a JVM does.
	const jvm = `trap 'i=0; while [ $i -lt 200 ]; do echo shutting down $i; i=$((i+1)); done; sleep 0.3; exit 143' TERM
echo ready; sleep 1000 & wait $!`
	for _, tc := range []struct {
		name    string
		prestop bool // jobcheck's preStop hook runs first (the webhook added it)
		report  string
	}{
		{"preStop hook then SIGTERM, run mode", true, contract.ReportRun},
		{"own preStop hook: SIGTERM only, attempt mode", false, contract.ReportAttempt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := jobName(t)
			env := append(pgEnv(t, job), contract.EnvMaxAge+"="+hungMaxAge.String(), contract.EnvReport+"="+tc.report)
			started := time.Now()
			r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", jvm)
			r.waitLine(t, "ready")
			sentinel := sentinelOf(env)
			eventually(t, "the probe fails", func() bool {
				return jobcheck(t, env, "probe").code == 1
			})
			var hungAt float64
			eventually(t, "the hung push", func() bool {
				g := group(t, grouping(job))
				if g == nil || len(g.Metrics[contract.MetricLastHung]) == 0 {
					return false
				}
				hungAt = value(t, g, contract.MetricLastHung)
				return true
			})
			if age := hungAt - float64(started.UnixNano())/1e9; age < hungMaxAge.Seconds() {
				t.Errorf("hung reported %.2fs after the start, before the max age %s", age, hungMaxAge)
			}
			if tc.prestop {
				if p := jobcheck(t, env, "prestop"); p.code != 0 {
					t.Fatalf("prestop: exit %d %s", p.code, p.stderr)
				}
				if reason, _ := attempt(t, group(t, grouping(job))); reason != contract.ReasonHung {
					t.Errorf("the preStop hook of a stale attempt pushed %q, want hung", reason)
				}
				if _, err := os.Stat(contract.MarkerPath(sentinel)); err != nil {
					t.Fatalf("no marker: %v", err)
				}
			}
			r.cmd.Process.Signal(syscall.SIGTERM)
			if code := r.wait(t); code != 143 {
				t.Fatalf("exit %d, want 143; stderr %s", code, r.stderr)
			}
			if !strings.Contains(r.stderr.String(), "hung") || strings.Count(r.stderr.String(), "\n") != 1 {
				t.Errorf("stderr %q: want one line saying the attempt is hung", r.stderr)
			}
			g := group(t, grouping(job))
			if reason, detail := attempt(t, g); reason != contract.ReasonHung || detail != "" {
				t.Errorf("attempt %s %q, want hung (exit 143 is no signal: no detail)", reason, detail)
			}
			if tc.report == contract.ReportRun {
				if run := labelsOf(t, g, contract.MetricLastRunInfo); run[contract.LabelResult] != contract.ResultFailed || run[contract.LabelReason] != contract.ReasonHung {
					t.Errorf("run %v, want failed, hung", run)
				}
			}
		})
	}
}

// A live attempt stopped by Kubernetes is terminated, even when it is quiet
// for a while: it shows life (output) within its max age.
func TestLiveAttemptStoppedIsTerminated(t *testing.T) {
	t.Parallel()
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvMaxAge+"="+hungMaxAge.String())
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", `echo ready; while :; do echo tick; sleep 1; done`)
	r.waitLine(t, "ready")
	time.Sleep(hungMaxAge + 2*time.Second) // longer than the max age: only life keeps it fresh
	if p := jobcheck(t, env, "prestop"); p.code != 0 {
		t.Fatal(p.stderr)
	}
	if reason, _ := attempt(t, group(t, grouping(job))); reason != contract.ReasonTerminated {
		t.Errorf("preStop pushed %q for a live attempt, want terminated", reason)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t); code != 143 {
		t.Fatalf("exit %d", code)
	}
	g := group(t, grouping(job))
	if reason, detail := attempt(t, g); reason != contract.ReasonTerminated || detail != "SIGTERM" {
		t.Errorf("attempt %s %q, want terminated SIGTERM", reason, detail)
	}
	if _, ok := g.Metrics[contract.MetricLastHung]; ok {
		t.Errorf("a live attempt was reported hung")
	}
}

// Without termination, a stale child killed by a signal (someone's kill -9)
// is hung too; one that exits by itself is failed.
func TestStaleChildKilledIsHung(t *testing.T) {
	t.Parallel()
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvMaxAge+"="+hungMaxAge.String())
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", `echo ready; echo $$ > "$JOBCHECK_SENTINEL.pid"; sleep 1000 & wait $!`)
	r.waitLine(t, "ready")
	eventually(t, "the probe fails", func() bool { return jobcheck(t, env, "probe").code == 1 })
	b, err := os.ReadFile(sentinelOf(env) + ".pid")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if code := r.wait(t); code != 137 {
		t.Fatalf("exit %d, want 137", code)
	}
	if reason, detail := attempt(t, group(t, grouping(job))); reason != contract.ReasonHung || detail != "SIGKILL" {
		t.Errorf("attempt %s %q, want hung SIGKILL", reason, detail)
	}
}
