package agent

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLastSuccessSurvivesLaterFailures(t *testing.T) {
	job := jobName(t)
	env := pgEnv(t, job)
	if r := jobcheck(t, env, "run", "--", "true"); r.code != 0 {
		t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
	}
	success := value(t, groupMetrics(t, grouping(job)), mLastSuccess)
	for i := 1; i <= 2; i++ {
		if r := jobcheck(t, env, "run", "--", "false"); r.code != 1 {
			t.Fatalf("failing run: exit %d: %s", r.code, r.stderr)
		}
		m := groupMetrics(t, grouping(job))
		if got := value(t, m, mLastSuccess); got != success {
			t.Fatalf("after failure %d: last success %v, want %v kept", i, got, success)
		}
		if got := value(t, m, mConsecFailures); got != float64(i) {
			t.Errorf("after failure %d: %s = %v", i, mConsecFailures, got)
		}
		if got := reasonOf(t, m); got != "failed" {
			t.Errorf("reason %q, want failed (and only it)", got)
		}
		if value(t, m, mLastFailure) < success {
			t.Errorf("last failure older than the success before it")
		}
	}
	jobcheck(t, env, "run", "--", "true")
	m := groupMetrics(t, grouping(job))
	if got := value(t, m, mConsecFailures); got != 0 {
		t.Errorf("after a success: %s = %v, want 0", mConsecFailures, got)
	}
	if got := reasonOf(t, m); got != "succeeded" {
		t.Errorf("reason %q, want succeeded", got)
	}
}

func TestRunningAndHeartbeatPushedWhileRunning(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), "JOBCHECK_CONTAINER=worker", "JOBCHECK_SCHEDULE=*/10 * * * *", "JOBCHECK_GRACE=1m")
	r := startJobcheck(t, env, nil, "run", "--", "sh", "-c", "echo ready; while :; do sleep 0.05; done")
	r.waitLine(t, "ready")
	g := map[string]string{"job": job, "namespace": "testns", "container": "worker"}
	var m map[string][]series
	for i := 0; i < 200 && len(m[mRunning]) == 0; i++ {
		m = groupMetrics(t, g)
		time.Sleep(20 * time.Millisecond)
	}
	if got := value(t, m, mRunning); got != 1 {
		t.Fatalf("%s = %v while running, want 1", mRunning, got)
	}
	start := value(t, m, mLastStart)
	if hb := value(t, m, mHeartbeat); hb < start {
		t.Errorf("heartbeat %v before start %v", hb, start)
	}
	if got := value(t, m, mMaxAge); got != DefaultMaxAge.Seconds() {
		t.Errorf("%s = %v, want %v", mMaxAge, got, DefaultMaxAge.Seconds())
	}
	deadline := time.Unix(int64(value(t, m, mNextDeadline)), 0).UTC()
	if deadline.Minute()%10 != 1 || deadline.Second() != 0 || deadline.Before(time.Unix(int64(start), 0)) {
		t.Errorf("next run deadline %s: want the next */10 minute plus 1m grace", deadline)
	}
	if groupMetrics(t, grouping(job)) != nil {
		t.Errorf("a group without the container label exists: container must be in the grouping key")
	}
	r.cmd.Process.Signal(os.Interrupt)
	r.wait(t)
	if got := value(t, groupMetrics(t, g), mRunning); got != 0 {
		t.Errorf("%s = %v after exit, want 0", mRunning, got)
	}
}

// A Pushgateway that is down, erroring or not answering costs one stderr
// line and at most the budget: never the exit code.
func TestBrokenPushgatewayNeverChangesTheResult(t *testing.T) {
	down, err := freeAddr() // nothing listens there any more
	if err != nil {
		t.Fatal(err)
	}
	erroring := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer erroring.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	const budget = time.Second
	// Generous: process start and exit on a loaded machine. Without the budget a
	// silent Pushgateway would cost about 12s (3 tries of 2s, at start and at exit).
	const slack = 6 * time.Second
	for _, tc := range []struct{ name, url string }{
		{"down", "http://" + down},
		{"500", erroring.URL},
		{"never answers", "http://" + silent.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, code := range []int{0, 3} {
				env := []string{"JOBCHECK_PUSHGATEWAY=" + tc.url, "JOBCHECK_JOB=j", "JOBCHECK_SENTINEL=" + filepath.Join(t.TempDir(), "hb")}
				r := jobcheck(t, env, "run", "--push-budget", budget.String(), "--", "sh", "-c", "exit "+strconv.Itoa(code))
				if r.code != code {
					t.Errorf("exit code %d, want %d", r.code, code)
				}
				if r.elapsed > budget+slack {
					t.Errorf("exit took %s, budget %s", r.elapsed, budget)
				}
				if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "pushgateway") {
					t.Errorf("want one stderr line about the pushgateway, got %q", r.stderr)
				}
			}
		})
	}
}

func TestNoPushgatewayIsNoError(t *testing.T) {
	r := jobcheck(t, []string{"JOBCHECK_SENTINEL=" + filepath.Join(t.TempDir(), "hb")}, "run", "--", "true")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q: want 0 and nothing", r.code, r.stderr)
	}
}

// khRequest is what the fake Kuberhealthy saw.
type khRequest struct {
	method, contentType, uuid string
	body                      khReport
	raw                       string
}

func TestKuberhealthyReport(t *testing.T) {
	got := make(chan khRequest, 1)
	kh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := khRequest{method: r.Method, contentType: r.Header.Get("Content-Type"), uuid: r.Header.Get("kh-run-uuid"), raw: string(b)}
		if err := json.Unmarshal(b, &req.body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
		got <- req
	}))
	defer kh.Close()
	deadline := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name   string
		script string
		ok     bool
		errors []string
	}{
		{"success", "echo fine >&2; exit 0", true, nil},
		{"failure", "for i in $(seq 1 15); do echo line$i >&2; done; printf 'last words' >&2; exit 3",
			false, []string{"exit code 3 (failed)", "stderr: line7", "stderr: line15", "stderr: last words"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"KH_REPORTING_URL=" + kh.URL, "KH_RUN_UUID=run-" + tc.name, "KH_CHECK_RUN_DEADLINE=" + deadline,
				"JOBCHECK_SENTINEL=" + filepath.Join(t.TempDir(), "hb")}
			jobcheck(t, env, "run", "--", "sh", "-c", tc.script)
			var req khRequest
			select {
			case req = <-got:
			default:
				t.Fatal("no report reached Kuberhealthy before the wrapper exited")
			}
			if req.method != http.MethodPost || req.contentType != "application/json" || req.uuid != "run-"+tc.name {
				t.Errorf("method %s, content type %q, kh-run-uuid %q", req.method, req.contentType, req.uuid)
			}
			if !strings.Contains(req.raw, `"errors":[`) {
				t.Errorf("body %s: errors must be an array, even empty", req.raw)
			}
			if req.body.OK != tc.ok {
				t.Errorf("ok = %v, want %v", req.body.OK, tc.ok)
			}
			if req.body.OK && len(req.body.Errors) > 0 {
				t.Errorf("ok:true with errors %v", req.body.Errors)
			}
			if len(tc.errors) > 0 {
				if len(req.body.Errors) != 1+tailLines {
					t.Errorf("errors %q: want the exit code and the last %d stderr lines", req.body.Errors, tailLines)
				}
				joined := strings.Join(req.body.Errors, "\n")
				for _, w := range tc.errors {
					if !strings.Contains(joined, w) {
						t.Errorf("errors %q lack %q", req.body.Errors, w)
					}
				}
				if strings.Contains(joined, "line5\n") {
					t.Errorf("errors %q keep lines beyond the last %d", req.body.Errors, tailLines)
				}
			}
		})
	}
}

func TestKuberhealthyDeadlinePassedCostsOneLine(t *testing.T) {
	env := []string{"KH_REPORTING_URL=http://127.0.0.1:1/", "KH_RUN_UUID=x", "KH_CHECK_RUN_DEADLINE=1",
		"JOBCHECK_SENTINEL=" + filepath.Join(t.TempDir(), "hb")}
	r := jobcheck(t, env, "run", "--", "sh", "-c", "exit 5")
	if r.code != 5 || !strings.Contains(r.stderr, "deadline") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q: want 5 and one line about the deadline", r.code, r.stderr)
	}
}

// A Pushgateway given as host:port, without a scheme, is pushed to and read
// back from alike (client_golang's push adds http:// itself; so must the read-back).
func TestPushgatewayWithoutScheme(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), "JOBCHECK_PUSHGATEWAY="+strings.TrimPrefix(pgURL, "http://"))
	for i := 1; i <= 2; i++ {
		if r := jobcheck(t, env, "run", "--", "false"); r.code != 1 || r.stderr != "" {
			t.Fatalf("run %d: exit %d, stderr %q", i, r.code, r.stderr)
		}
	}
	if got := value(t, groupMetrics(t, grouping(job)), mConsecFailures); got != 2 {
		t.Errorf("%s = %v after two failures, want 2 (read back)", mConsecFailures, got)
	}
}
