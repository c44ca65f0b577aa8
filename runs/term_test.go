package runs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/kubetest"
	"github.com/jobcheck/jobcheck/pushgateway"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// The scenarios drive one leadership term with typed objects, as the
// informers would deliver them, and check what the real Pushgateway holds.

var (
	pg     *pushgatewaytest.Server
	api    *kubetest.Server // nil when its binaries are missing (apiErr says why)
	apiErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if pg, err = pushgatewaytest.Start(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, _, apiErr = kubetest.Binaries(); apiErr == nil {
		if api, apiErr = kubetest.Start(dir); apiErr != nil {
			fmt.Fprintln(os.Stderr, apiErr)
			pg.Stop()
			os.Exit(1)
		}
	}
	code := m.Run()
	if api != nil {
		api.Stop()
	}
	pg.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// scenario is one term of a watcher on a fake store, pushing to url.
type scenario struct {
	t     *testing.T
	name  string // the workload (job label), one per test
	url   string
	store *fakeStore
	w     *Watcher
	term  *term
	now   time.Time
}

func newEnv(t *testing.T, url string) *scenario {
	t.Helper()
	e := &scenario{t: t, name: strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(t.Name())), url: url, store: newStore(), now: at(1000)}
	cfg := Config{LeaseNamespace: "x", LeaseName: "y", Identity: "z", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		DefaultPushgateway: url}
	w, err := newWatcher(cfg, nil, e.store, func(context.Context) bool { return true }, prometheus.NewRegistry(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	w.now = func() time.Time { return e.now }
	e.w = w
	e.term = newTerm(w)
	w.term.Store(e.term)
	return e
}

func (e *scenario) job(j *batchv1.Job) *batchv1.Job {
	e.store.mu.Lock()
	e.store.jobs[j.Namespace+"/"+j.Name] = j
	e.store.mu.Unlock()
	e.term.onJob(j, false)
	return j
}

func (e *scenario) deleteJob(j *batchv1.Job) {
	e.store.mu.Lock()
	delete(e.store.jobs, j.Namespace+"/"+j.Name)
	e.store.mu.Unlock()
	e.term.onJob(j, true)
}

func (e *scenario) cron(cj *batchv1.CronJob) {
	e.store.mu.Lock()
	e.store.cronJobs[cj.Namespace+"/"+cj.Name] = cj
	e.store.mu.Unlock()
	e.term.onCronJob(cj, false)
}

// pod adds or updates p, reporting to this env's workload and Pushgateway.
func (e *scenario) pod(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	for i := range p.Spec.Containers[0].Env {
		switch v := &p.Spec.Containers[0].Env[i]; v.Name {
		case contract.EnvJob:
			v.Value = e.name
		case contract.EnvPushgateway:
			v.Value = e.url
		}
	}
	e.store.mu.Lock()
	e.store.pods[p.Namespace+"/"+p.Name] = p
	e.store.mu.Unlock()
	e.term.onPod(p, false)
	return p
}

func (e *scenario) deletePod(p *corev1.Pod) {
	e.store.mu.Lock()
	p = e.store.pods[p.Namespace+"/"+p.Name]
	delete(e.store.pods, p.Namespace+"/"+p.Name)
	e.store.mu.Unlock()
	e.term.onPod(p, true)
}

// settle processes the queue until it is empty; every reconcile must succeed.
func (e *scenario) settle() {
	e.t.Helper()
	for e.term.queue.Len() > 0 {
		k, _ := e.term.queue.Get()
		if err := e.term.reconcile(context.Background(), k); err != nil {
			e.t.Fatalf("reconcile %v: %v", k, err)
		}
		e.term.queue.Forget(k)
		e.term.queue.Done(k)
	}
}

// group reads a group of this workload from the real Pushgateway.
func (e *scenario) group(labels ...string) *pushgatewaytest.Group {
	e.t.Helper()
	key := map[string]string{contract.LabelJob: e.name, contract.LabelNamespace: ns}
	for i := 0; i+1 < len(labels); i += 2 {
		key[labels[i]] = labels[i+1]
	}
	g, err := pg.Group(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	if g == nil {
		e.t.Fatalf("no group %v in the Pushgateway", key)
	}
	return g
}

// expect checks metric values of a group; a name with labels is written
// name{l=v,...}; a missing value is NaN in want.
func expect(t *testing.T, g *pushgatewaytest.Group, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		metric, labels := name, map[string]string{}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			metric = name[:i]
			for _, kv := range strings.Split(strings.TrimSuffix(name[i+1:], "}"), ",") {
				k, val, _ := strings.Cut(kv, "=")
				labels[k] = val
			}
		}
		got, ok := g.Value(metric, labels)
		switch {
		case v != v: // NaN: must be absent
			if _, present := g.Metrics[metric]; present {
				t.Errorf("%s present (%v), want absent", name, g.Metrics[metric])
			}
		case !ok:
			t.Errorf("%s missing; group has %v", name, g.Metrics)
		case got != v:
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
}

var absent = func() float64 { var z float64; return z / z }()

func TestRunSucceeds(t *testing.T) {
	e := newEnv(t, pg.URL)
	j := e.job(newJob("nightly-1", startedAt(10)))
	p := e.pod(newPod(j, "nightly-1-a", "", running(12)))
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricRunning: 1, contract.MetricLastStart: sec(10), contract.MetricConsecutiveFailures: 0,
		contract.MetricLastCompletion: absent, contract.MetricLastRunInfo: absent,
	})
	e.pod(withPod(p, exited(0, "Completed", 12, 70)))
	e.job(with(j, completeAt(71)))
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricRunning: 0, contract.MetricLastStart: sec(10), contract.MetricLastCompletion: sec(71),
		contract.MetricLastDuration: 61, contract.MetricLastSuccess: sec(71), contract.MetricLastSuccessStart: sec(10),
		contract.MetricLastRunInfo + "{result=succeeded,reason=CompletionsReached}": 1,
		contract.MetricConsecutiveFailures:                                          0, contract.MetricLastFailure: absent,
		contract.MetricLastAttemptInfo: absent, // the agent's to push
	})
	if n := testutil.ToFloat64(e.w.metrics.runs.WithLabelValues(contract.ResultSucceeded)); n != 1 {
		t.Errorf("runs_total{succeeded} = %v", n)
	}
}

// An Indexed Job whose index 1 failed: the run failed with failed index 1,
// and index 2, killed by the Job controller after its grace period, is a
// terminated attempt in its own group that changes nothing of the run.
func TestIndexedJobFailure(t *testing.T) {
	e := newEnv(t, pg.URL)
	j := e.job(newJob("idx", indexedJob(3), startedAt(0)))
	p0 := e.pod(newPod(j, "idx-0", "", index(0), running(1)))
	p1 := e.pod(newPod(j, "idx-1", "", index(1), running(1)))
	p2 := e.pod(newPod(j, "idx-2", "", index(2), running(1)))
	e.settle()
	e.pod(withPod(p0, exited(0, "Completed", 1, 20)))
	e.pod(withPod(p1, exited(1, "Error", 1, 30)))
	j = e.job(with(j, condition(batchv1.JobFailureTarget, "BackoffLimitExceeded", 31)))
	e.pod(withPod(p2, running(1), deleting(31, 30)))
	e.pod(withPod(p2, exited(137, "Error", 1, 61), deleting(31, 30)))
	e.job(with(j, condition(batchv1.JobFailed, "BackoffLimitExceeded", 62)))
	e.deletePod(p2)
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricRunning: 0, contract.MetricLastCompletion: sec(62), contract.MetricLastFailure: sec(62),
		contract.MetricLastRunInfo + "{result=failed,reason=BackoffLimitExceeded}":        1,
		contract.MetricLastFailureInfo + "{reason=BackoffLimitExceeded,failed_indexes=1}": 1,
		contract.MetricConsecutiveFailures:                                                1,
	})
	expect(t, e.group(contract.LabelIndex, "2"), map[string]float64{
		contract.MetricLastAttemptInfo + "{reason=terminated,detail=Error}": 1,
		contract.MetricLastAttemptExitCode:                                  137,
		contract.MetricLastAttemptEnd:                                       sec(61),
		contract.MetricLastAttemptDuration:                                  60,
	})
}

// Retries inside one Job are one run: a Job whose third pod succeeds did not fail.
func TestRetriesThenSuccessIsOneSuccessfulRun(t *testing.T) {
	e := newEnv(t, pg.URL)
	j := e.job(newJob("retry", startedAt(0)))
	for i, end := range []int{10, 20} {
		p := e.pod(newPod(j, fmt.Sprintf("retry-%d", i), "", running(end-9)))
		e.settle()
		e.pod(withPod(p, exited(1, "Error", end-9, end)))
		e.settle()
	}
	p := e.pod(newPod(j, "retry-2", "", running(21)))
	e.pod(withPod(p, exited(0, "Completed", 21, 30)))
	e.job(with(j, completeAt(31)))
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricRunning: 0, contract.MetricConsecutiveFailures: 0, contract.MetricLastFailure: absent,
		contract.MetricLastRunInfo + "{result=succeeded,reason=CompletionsReached}": 1,
	})
	if n := testutil.ToFloat64(e.w.metrics.runs.WithLabelValues(contract.ResultFailed)); n != 0 {
		t.Errorf("runs_total{failed} = %v, want 0", n)
	}
}

// Two overlapping runs of a CronJob: A fails while B runs, then B succeeds.
// B started before A failed, so the failure stays reported (its end is after
// the latest successful run's start); the deadline follows the schedule.
func TestOverlappingCronJobRuns(t *testing.T) {
	e := newEnv(t, pg.URL)
	cj := cronJob("nightly", "*/15 * * * *", 100)
	e.cron(cj)
	a := e.job(newJob("nightly-a", ownedBy(cj), startedAt(0)))
	b := e.job(newJob("nightly-b", ownedBy(cj), startedAt(100)))
	pa := e.pod(newPod(a, "nightly-a-x", "", graceEnv("10m0s"), running(1)))
	pb := e.pod(newPod(b, "nightly-b-x", "", graceEnv("10m0s"), running(101)))
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricRunning: 2, contract.MetricLastStart: sec(100),
		// next */15 after 03:01:40 is 03:15, plus the pods' grace of 10m
		contract.MetricNextRunDeadline: float64(time.Date(2026, 3, 1, 3, 25, 0, 0, time.UTC).Unix()),
		contract.MetricSuspended:       0,
	})
	e.pod(withPod(pa, exited(1, "Error", 1, 149)))
	e.job(with(a, failedAt(150, "BackoffLimitExceeded")))
	e.settle()
	expect(t, e.group(), map[string]float64{contract.MetricRunning: 1, contract.MetricConsecutiveFailures: 1})
	e.pod(withPod(pb, exited(0, "Completed", 101, 199)))
	e.job(with(b, completeAt(200)))
	cj = cj.DeepCopy()
	cj.Spec.Suspend = new(bool)
	*cj.Spec.Suspend = true
	e.cron(cj)
	e.settle()
	g := e.group()
	expect(t, g, map[string]float64{
		contract.MetricRunning: 0, contract.MetricLastFailure: sec(150), contract.MetricLastSuccess: sec(200),
		contract.MetricLastSuccessStart: sec(100), contract.MetricConsecutiveFailures: 0, contract.MetricSuspended: 1,
		contract.MetricLastRunInfo + "{result=succeeded,reason=CompletionsReached}": 1,
	})
	failure, _ := g.Value(contract.MetricLastFailure, nil)
	successStart, _ := g.Value(contract.MetricLastSuccessStart, nil)
	if failure <= successStart {
		t.Errorf("the failure (%v) no longer after the latest success's start (%v): JobcheckJobFailed would clear", failure, successStart)
	}
}

// A Job deleted before it finished is a stopped run: no failure, no count.
func TestDeletedJobIsStopped(t *testing.T) {
	e := newEnv(t, pg.URL)
	j := e.job(newJob("gone", startedAt(0)))
	e.pod(newPod(j, "gone-x", "", running(1)))
	e.settle()
	e.now = at(300)
	e.deleteJob(j)
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricRunning: 0, contract.MetricLastCompletion: sec(300), contract.MetricLastDuration: 300,
		contract.MetricLastRunInfo + "{result=stopped,reason=Deleted}": 1,
		contract.MetricConsecutiveFailures:                             0, contract.MetricLastFailure: absent, contract.MetricLastSuccess: absent,
	})
}

// Consecutive failures count runs: three failed Jobs of two failed pods each
// are 3, and the next success resets them.
func TestConsecutiveFailuresCountRuns(t *testing.T) {
	e := newEnv(t, pg.URL)
	for r := range 3 {
		j := e.job(newJob(fmt.Sprintf("flaky-%d", r), startedAt(100*r)))
		for i := range 2 {
			p := e.pod(newPod(j, fmt.Sprintf("flaky-%d-%d", r, i), "", running(100*r+i)))
			e.pod(withPod(p, exited(1, "Error", 100*r+i, 100*r+10+i)))
		}
		e.job(with(j, failedAt(100*r+20, "BackoffLimitExceeded")))
		e.settle()
	}
	expect(t, e.group(), map[string]float64{contract.MetricConsecutiveFailures: 3, contract.MetricLastFailure: sec(220)})
	j := e.job(newJob("flaky-3", startedAt(300)))
	e.pod(newPod(j, "flaky-3-0", "", exited(0, "Completed", 300, 310)))
	e.job(with(j, completeAt(311)))
	e.settle()
	expect(t, e.group(), map[string]float64{contract.MetricConsecutiveFailures: 0, contract.MetricLastSuccess: sec(311)})
}

// A new leader reads the group back and counts only the runs that ended
// after the latest outcome in it: what the previous leader pushed is not
// counted twice. A run that ended in the same second as that outcome is
// taken as counted (docs/runs.md).
func TestReadBackThenNoDoubleCount(t *testing.T) {
	e := newEnv(t, pg.URL)
	c, err := pushgateway.New(pg.URL, nil, contract.Help)
	if err != nil {
		t.Fatal(err)
	}
	// What the previous leader pushed: two failed runs, the latest at 50.
	prev := runState{lastStart: sec(40), lastCompletion: sec(50), lastDuration: 10, result: contract.ResultFailed, reason: "BackoffLimitExceeded",
		lastFailure: sec(50), failureReason: "BackoffLimitExceeded", consecutive: 2, lastSuccess: sec(5), lastSuccessStart: sec(1)}
	if err := c.Add(context.Background(), contract.Grouping(e.name, ns, "", ""), prev.samples()); err != nil {
		t.Fatal(err)
	}
	counted := e.job(newJob("old", startedAt(40), failedAt(50, "BackoffLimitExceeded")))
	tie := e.job(newJob("tie", startedAt(45), failedAt(50, "DeadlineExceeded")))
	fresh := e.job(newJob("new", startedAt(60), failedAt(80, "DeadlineExceeded")))
	for _, j := range []*batchv1.Job{counted, tie, fresh} {
		e.pod(newPod(j, j.Name+"-x", "", exited(1, "Error", 41, 49)))
	}
	e.settle()
	expect(t, e.group(), map[string]float64{
		contract.MetricConsecutiveFailures: 3, contract.MetricLastFailure: sec(80), contract.MetricLastSuccess: sec(5),
		contract.MetricLastSuccessStart: sec(1), contract.MetricLastStart: sec(60),
		contract.MetricLastFailureInfo + "{reason=DeadlineExceeded,failed_indexes=}": 1,
	})
	if n := testutil.ToFloat64(e.w.metrics.runs.WithLabelValues(contract.ResultFailed)); n != 1 {
		t.Errorf("runs_total{failed} = %v, want 1 (only the run after the read-back)", n)
	}
	// The next term (a leader change) reads that back: nothing more is counted.
	e2 := newEnv(t, pg.URL)
	e2.name, e2.store = e.name, e.store
	e2.w.store = e.store
	e2.term.sweep()
	e2.settle()
	expect(t, e2.group(), map[string]float64{contract.MetricConsecutiveFailures: 3, contract.MetricLastFailure: sec(80)})
}

// Until the read-back of a Pushgateway succeeded, nothing is pushed to it.
func TestNoPushBeforeReadBack(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	var posts atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && broken.Load():
			http.Error(w, "restarting", http.StatusServiceUnavailable)
		case r.Method == http.MethodGet:
			fmt.Fprintln(w, `jobcheck_consecutive_failures{instance="",job="x",namespace="team-a"} 7`)
		default:
			posts.Add(1)
		}
	}))
	defer fake.Close()
	e := newEnv(t, fake.URL)
	e.name = "x"
	j := e.job(newJob("x-1", startedAt(0), failedAt(10, "BackoffLimitExceeded")))
	e.pod(newPod(j, "x-1-a", "", exited(137, "OOMKilled", 1, 9)))
	k, _ := e.term.queue.Get()
	if err := e.term.reconcile(context.Background(), k); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("reconcile with the read-back failing: %v", err)
	}
	e.term.queue.Done(k)
	if n := posts.Load(); n != 0 {
		t.Fatalf("%d pushes before the read-back succeeded", n)
	}
	if n := testutil.ToFloat64(e.w.metrics.readBacks.WithLabelValues(resultError)); n != 1 {
		t.Errorf("readbacks_total{error} = %v", n)
	}
	broken.Store(false)
	e.term.queue.Add(k)
	e.settle()
	if n := posts.Load(); n != 2 { // the attempt, the runs
		t.Errorf("%d pushes after the read-back, want 2", n)
	}
	e.term.mu.Lock()
	defer e.term.mu.Unlock()
	if c := e.term.workloads[k].state.consecutive; c != 8 {
		t.Errorf("consecutive failures %d, want the 7 read back plus 1", c)
	}
}

// The attempts only the watcher sees, each reported once, and never over a
// later attempt of the same group.
func TestAttemptsReportedOnceAndInOrder(t *testing.T) {
	e := newEnv(t, pg.URL)
	c, err := pushgateway.New(pg.URL, nil, contract.Help)
	if err != nil {
		t.Fatal(err)
	}
	j := e.job(newJob("att", indexedJob(4), startedAt(0)))
	// Index 0's agent reported an attempt that ended at 100.
	agent := attempt{reason: contract.ReasonSucceeded, end: sec(100), duration: 5}
	if err := c.Add(context.Background(), contract.Grouping(e.name, ns, "", "0"), agent.samples()); err != nil {
		t.Fatal(err)
	}
	e.pod(newPod(j, "att-0", "", index(0), exited(137, "OOMKilled", 10, 70))) // older: stays unreported
	e.pod(newPod(j, "att-1", "", index(1), exited(137, "OOMKilled", 10, 70)))
	p2 := e.pod(newPod(j, "att-2", "", index(2), running(10)))
	p3 := e.pod(newPod(j, "att-3", "", index(3), waiting("ErrImagePull"), podCondition(corev1.PodScheduled, "", 5)))
	e.settle()
	e.pod(withPod(p3, waiting("ImagePullBackOff"), podCondition(corev1.PodScheduled, "", 5))) // the same attempt
	e.now = at(400)
	e.deletePod(p2)
	e.settle()
	expect(t, e.group(contract.LabelIndex, "0"), map[string]float64{contract.MetricLastAttemptInfo + "{reason=succeeded,detail=}": 1, contract.MetricLastAttemptEnd: sec(100)})
	expect(t, e.group(contract.LabelIndex, "1"), map[string]float64{contract.MetricLastAttemptInfo + "{reason=oom_killed,detail=OOMKilled}": 1, contract.MetricLastAttemptExitCode: 137})
	expect(t, e.group(contract.LabelIndex, "2"), map[string]float64{contract.MetricLastAttemptInfo + "{reason=lost,detail=}": 1, contract.MetricLastAttemptEnd: sec(400), contract.MetricLastAttemptDuration: 390})
	expect(t, e.group(contract.LabelIndex, "3"), map[string]float64{contract.MetricLastAttemptInfo + "{reason=not_started,detail=ErrImagePull}": 1, contract.MetricLastAttemptExitCode: noExitCode})
	for reason, want := range map[string]float64{contract.ReasonOOMKilled: 1, contract.ReasonLost: 1, contract.ReasonNotStarted: 1} {
		if n := testutil.ToFloat64(e.w.metrics.attempts.WithLabelValues(reason)); n != want {
			t.Errorf("attempts_total{%s} = %v, want %v", reason, n, want)
		}
	}
}

// A bad Pushgateway URL in a pod costs a log line, not a retry loop.
func TestBadPushgatewayURL(t *testing.T) {
	e := newEnv(t, "ftp://nowhere")
	j := e.job(newJob("bad", startedAt(0)))
	e.pod(newPod(j, "bad-x", "", running(1)))
	e.settle() // no error: nothing to retry
}

// Two informers: a pod may be seen before its Job reaches the cache. The
// Job's own event links it then; the pods of a deleted Job do not bring it
// back.
func TestPodSeenBeforeItsJob(t *testing.T) {
	e := newEnv(t, pg.URL)
	j := newJob("early", startedAt(0))
	p := e.pod(newPod(j, "early-x", "", running(1))) // the Job is not cached yet
	e.settle()
	expect(t, e.group(), map[string]float64{contract.MetricRunning: 0})
	e.job(j)
	e.settle()
	expect(t, e.group(), map[string]float64{contract.MetricRunning: 1, contract.MetricLastStart: sec(0)})
	e.now = at(50)
	e.deleteJob(j)
	e.settle()
	e.pod(withPod(p, exited(143, "Error", 1, 49), deleting(45, 30))) // the garbage collector's deletion
	e.deletePod(p)
	e.settle()
	expect(t, e.group(), map[string]float64{contract.MetricRunning: 0, contract.MetricLastRunInfo + "{result=stopped,reason=Deleted}": 1})
	e.term.mu.Lock()
	n := len(e.term.workloads)
	e.term.mu.Unlock()
	if n != 0 || testutil.ToFloat64(e.w.metrics.workloads) != 0 {
		t.Errorf("%d workloads still followed with no Job, pod or CronJob left", n)
	}
}

// A Pushgateway restarted without persistence gets the state back at the
// next resync, from memory: nothing is counted again.
func TestResyncRestoresAGroup(t *testing.T) {
	e := newEnv(t, pg.URL)
	j := e.job(newJob("resync", startedAt(0), failedAt(30, "BackoffLimitExceeded")))
	e.pod(newPod(j, "resync-x", "", exited(1, "Error", 1, 29)))
	e.settle()
	c, err := pushgateway.New(pg.URL, nil, contract.Help)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), contract.Grouping(e.name, ns, "", "")); err != nil {
		t.Fatal(err)
	}
	e.term.resync()
	e.settle()
	expect(t, e.group(), map[string]float64{contract.MetricConsecutiveFailures: 1, contract.MetricLastFailure: sec(30)})
	if n := testutil.ToFloat64(e.w.metrics.runs.WithLabelValues(contract.ResultFailed)); n != 1 {
		t.Errorf("runs_total{failed} = %v after a resync, want 1", n)
	}
}

func TestSplitLabels(t *testing.T) {
	for _, c := range []struct {
		labels [][2]string
		ok     bool
		group  string
	}{
		{[][2]string{{"instance", ""}, {"job", "j"}, {"namespace", "n"}, {"reason", "r"}}, true, "j n  "},
		{[][2]string{{"job", "j"}, {"namespace", "n"}, {"container", "c"}, {"index", "3"}}, true, "j n c 3"},
		{[][2]string{{"job", "j"}, {"namespace", "n"}, {"pod", "p"}}, false, ""}, // not a jobcheck group
		{[][2]string{{"job", "j"}, {"instance", "10.0.0.1:80"}}, false, ""},      // pushed with an instance
		{[][2]string{{"namespace", "n"}}, false, ""},                             // no job
	} {
		g, _, ok := splitLabels(c.labels)
		got := ""
		if ok {
			got = strings.Join([]string{g["job"], g["namespace"], g["container"], g["index"]}, " ")
		}
		if ok != c.ok || got != c.group {
			t.Errorf("splitLabels(%v) = %q, %v; want %q, %v", c.labels, got, ok, c.group, c.ok)
		}
	}
}
