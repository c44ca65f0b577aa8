package agent

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jobcheck/jobcheck/contract"
)

// push is one request the agent sent, as a recording server saw it.
type push struct {
	method, path, contentType string
	families                  map[string]map[string]string // metric -> its first series' labels
	err                       error                        // expfmt's verdict on the body
}

// recorder is a Pushgateway stand-in that records every request.
type recorder struct {
	mu     sync.Mutex
	pushes []push
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := push{method: r.Method, path: r.URL.EscapedPath(), contentType: r.Header.Get("Content-Type")}
	if r.Method == http.MethodPost {
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(r.Body)
		p.err = err
		p.families = map[string]map[string]string{}
		for name, f := range fams {
			if f.GetType().String() != "GAUGE" || f.GetHelp() != contract.Help(name) {
				p.err = &json.UnsupportedValueError{Str: name + ": type " + f.GetType().String() + ", help " + f.GetHelp()}
			}
			labels := map[string]string{}
			for _, l := range f.Metric[0].Label {
				labels[l.GetName()] = l.GetValue()
			}
			p.families[name] = labels
		}
	}
	rec.mu.Lock()
	rec.pushes = append(rec.pushes, p)
	rec.mu.Unlock()
	if r.Method == http.MethodGet { // the read-back: an empty Pushgateway
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rec *recorder) posts() []push {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []push
	for _, p := range rec.pushes {
		if p.method == http.MethodPost {
			out = append(out, p)
		}
	}
	return out
}

func names(p push) []string {
	var out []string
	for n := range p.families {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// What the agent sends parses with the Prometheus text parser: gauges with
// contract.Help texts, POSTed to the group's path, exactly the metrics of
// each moment of each mode.
func TestWhatIsSent(t *testing.T) {
	m := contract.MetricLastAttemptInfo
	attemptExit := []string{contract.MetricLastAttemptDuration, contract.MetricLastAttemptEnd, contract.MetricLastAttemptExitCode, m, contract.MetricMaxAge}
	cases := []struct {
		name   string
		env    []string
		script string
		want   [][]string // the metric names of each POST, in order
	}{
		{"run mode, success, schedule", []string{contract.EnvSchedule + "=@hourly"}, "exit 0", [][]string{
			{contract.MetricLastStart, contract.MetricMaxAge, contract.MetricNextRunDeadline, contract.MetricRunning},
			append(slices.Clone(attemptExit), contract.MetricConsecutiveFailures, contract.MetricLastCompletion, contract.MetricLastDuration,
				contract.MetricLastRunInfo, contract.MetricLastSuccess, contract.MetricLastSuccessStart, contract.MetricNextRunDeadline, contract.MetricRunning),
		}},
		{"run mode, failure", nil, "exit 2", [][]string{
			{contract.MetricLastStart, contract.MetricMaxAge, contract.MetricRunning},
			append(slices.Clone(attemptExit), contract.MetricConsecutiveFailures, contract.MetricLastCompletion, contract.MetricLastDuration,
				contract.MetricLastFailure, contract.MetricLastFailureInfo, contract.MetricLastRunInfo, contract.MetricRunning),
		}},
		{"attempt mode", []string{contract.EnvReport + "=attempt", contract.EnvSchedule + "=@hourly"}, "exit 2", [][]string{attemptExit}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			env := append([]string{contract.EnvPushgateway + "=" + srv.URL, contract.EnvJob + "=a/b", contract.EnvNamespace + "=ns",
				contract.EnvContainer + "=c", contract.EnvCompletionIndex + "=7", contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb")}, tc.env...)
			r := jobcheck(t, env, "run", "--", "sh", "-c", tc.script)
			if r.stderr != "" {
				t.Fatalf("stderr %q", r.stderr)
			}
			posts := rec.posts()
			if len(posts) != len(tc.want) {
				t.Fatalf("%d pushes, want %d: %+v", len(posts), len(tc.want), posts)
			}
			for i, p := range posts {
				slices.Sort(tc.want[i])
				if p.err != nil {
					t.Errorf("push %d: %v", i, p.err)
				}
				if got := names(p); !slices.Equal(got, tc.want[i]) {
					t.Errorf("push %d: %v\nwant    %v", i, got, tc.want[i])
				}
				if p.path != "/metrics/job@base64/YS9i/namespace/ns/container/c/index/7" {
					t.Errorf("push %d to %s", i, p.path)
				}
				if !strings.HasPrefix(p.contentType, "text/plain; version=0.0.4") {
					t.Errorf("content type %q", p.contentType)
				}
			}
			last := posts[len(posts)-1].families
			if l := last[m]; len(l) != 2 || l[contract.LabelReason] == "" {
				t.Errorf("%s labels %v, want reason and detail", m, l)
			}
			if l, ok := last[contract.MetricLastFailureInfo]; ok && (len(l) != 2 || l[contract.LabelReason] != contract.ReasonFailed) {
				t.Errorf("failure info labels %v, want reason and failed_indexes", l)
			}
		})
	}
}

// A Pushgateway that is down, erroring or not answering costs one stderr
// line and at most the budget: never the exit code.
func TestBrokenPushgatewayNeverChangesTheResult(t *testing.T) {
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	down.Close() // nothing listens there any more
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
		{"down", "http://" + downAddr},
		{"500", erroring.URL},
		{"never answers", "http://" + silent.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, report := range []string{contract.ReportRun, contract.ReportAttempt} {
				for _, code := range []int{0, 3} {
					env := []string{contract.EnvPushgateway + "=" + tc.url, contract.EnvJob + "=j", contract.EnvReport + "=" + report,
						contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb")}
					r := jobcheck(t, env, "run", "--push-budget", budget.String(), "--", "sh", "-c", "exit "+strconv.Itoa(code))
					if r.code != code {
						t.Errorf("exit code %d, want %d", r.code, code)
					}
					if r.elapsed > budget+slack {
						t.Errorf("exit took %s, budget %s", r.elapsed, budget)
					}
					if lines := r.stderrLines(); len(lines) != 1 || !strings.Contains(lines[0], "pushgateway") {
						t.Errorf("%s mode: want one stderr line about the pushgateway, got %q", report, r.stderr)
					}
				}
			}
		})
	}
}

func TestNoPushgatewayIsNoError(t *testing.T) {
	r := jobcheck(t, []string{contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb")}, "run", "--", "true")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q: want 0 and nothing", r.code, r.stderr)
	}
}

// An https Pushgateway (here a TLS proxy in front of the real one, with a
// test CA the agent trusts through SSL_CERT_FILE, as a pod would mount it)
// works for the pushes and the read-back; user info is basic auth.
func TestHTTPSPushgateway(t *testing.T) {
	target, _ := url.Parse(pg.URL)
	var auth []string
	var mu sync.Mutex
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusting client's handshake errors
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvPushgateway+"="+strings.Replace(srv.URL, "https://", "https://u:p@", 1), "SSL_CERT_FILE="+ca)
	for i := 1; i <= 2; i++ {
		if r := jobcheck(t, env, "run", "--", "false"); r.code != 1 || r.stderr != "" {
			t.Fatalf("run %d: exit %d, stderr %q", i, r.code, r.stderr)
		}
	}
	if got := value(t, group(t, grouping(job)), contract.MetricConsecutiveFailures); got != 2 {
		t.Errorf("consecutive failures %v after two failures over https, want 2 (read back)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) < 4 || auth[0] != "Basic dTpw" {
		t.Errorf("authorization headers %q, want basic auth on every request", auth)
	}
	// Without the CA: refused, one line, the job unaffected.
	env = append(pgEnv(t, job), contract.EnvPushgateway+"="+srv.URL)
	if r := jobcheck(t, env, "run", "--push-budget", "1s", "--", "true"); r.code != 0 || len(r.stderrLines()) != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted https: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A Pushgateway given as host:port, without a scheme, is pushed to and read
// back from alike.
func TestPushgatewayWithoutScheme(t *testing.T) {
	job := jobName(t)
	env := append(pgEnv(t, job), contract.EnvPushgateway+"="+strings.TrimPrefix(pg.URL, "http://"))
	for i := 1; i <= 2; i++ {
		if r := jobcheck(t, env, "run", "--", "false"); r.code != 1 || r.stderr != "" {
			t.Fatalf("run %d: exit %d, stderr %q", i, r.code, r.stderr)
		}
	}
	if got := value(t, group(t, grouping(job)), contract.MetricConsecutiveFailures); got != 2 {
		t.Errorf("consecutive failures %v after two failures, want 2 (read back)", got)
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
		{"failure", "for i in $(seq 1 15); do echo line$i >&2; done; printf 'last \"words\"' >&2; exit 3",
			false, []string{"exit code 3 (failed)", "stderr: line7", "stderr: line15", `stderr: last "words"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"KH_REPORTING_URL=" + kh.URL, "KH_RUN_UUID=run-" + tc.name, "KH_CHECK_RUN_DEADLINE=" + deadline,
				contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb")}
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
			}
		})
	}
}

func TestKuberhealthyDeadlinePassedCostsOneLine(t *testing.T) {
	env := []string{"KH_REPORTING_URL=http://127.0.0.1:1/", "KH_RUN_UUID=x", "KH_CHECK_RUN_DEADLINE=1",
		contract.EnvSentinel + "=" + filepath.Join(t.TempDir(), "hb")}
	r := jobcheck(t, env, "run", "--", "sh", "-c", "exit 5")
	if r.code != 5 || !strings.Contains(r.stderr, "deadline") || len(r.stderrLines()) != 1 {
		t.Fatalf("exit %d, stderr %q: want 5 and one line about the deadline", r.code, r.stderr)
	}
}

// A Pushgateway whose /metrics is too slow to read back (a big one, a busy
// one) costs a failed run its consecutive-failure count, never its report:
// the exit push, which carries the failure, still goes out.
func TestSlowReadBackNeverCostsTheFailure(t *testing.T) {
	target, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			<-r.Context().Done() // never answers the read-back
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	job := jobName(t)
	env := pgEnv(t, job)
	env[0] = contract.EnvPushgateway + "=" + slow.URL
	r := jobcheck(t, env, "run", "--push-budget", "2s", "--", "sh", "-c", "exit 3")
	if r.code != 3 {
		t.Fatalf("exit code %d, want 3", r.code)
	}
	g := group(t, grouping(job))
	if reason, _ := attempt(t, g); reason != contract.ReasonFailed {
		t.Errorf("attempt reason %q, want failed: the exit push did not arrive (stderr %q)", reason, r.stderr)
	}
	if v := value(t, g, contract.MetricLastFailure); v <= 0 {
		t.Errorf("%s = %v, want the failure's time", contract.MetricLastFailure, v)
	}
	if _, ok := g.Metrics[contract.MetricConsecutiveFailures]; ok {
		t.Errorf("a count was pushed without being read back: %v", g.Metrics[contract.MetricConsecutiveFailures])
	}
}
