package runs

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
)

func TestCompress(t *testing.T) {
	many := make([]int, 0, 100)
	for i := 0; i < 200; i += 2 {
		many = append(many, i)
	}
	for _, c := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{1}, "1"},
		{[]int{5, 3, 4, 1, 1}, "1,3-5"},
		{[]int{0, 1, 2, 7, 9, 10}, "0-2,7,9-10"},
		{many, "0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,..."},
	} {
		got := compress(c.in)
		if got != c.want {
			t.Errorf("compress(%v) = %q, want %q", c.in, got, c.want)
		}
		if len(got) > maxIndexesLen {
			t.Errorf("compress(%v) is %d bytes, over %d", c.in, len(got), maxIndexesLen)
		}
	}
	if got := bound(strings.Repeat("9", 100)); got != "..." {
		t.Errorf("bound of one huge element = %q", got)
	}
}

func TestJobRun(t *testing.T) {
	idx := newJob("idx", indexedJob(3), startedAt(10))
	for _, c := range []struct {
		name string
		job  *batchv1.Job
		pods []*corev1.Pod
		want run
	}{
		{"running", newJob("a", startedAt(10)), nil, run{start: sec(10)}},
		{"not started yet: its creation", newJob("a"), nil, run{start: sec(0)}},
		{"complete", newJob("a", startedAt(10), completeAt(70)), nil,
			run{result: contract.ResultSucceeded, reason: "CompletionsReached", start: sec(10), end: sec(70)}},
		{"failure target only: still running", newJob("a", startedAt(10), condition(batchv1.JobFailureTarget, "BackoffLimitExceeded", 50)), nil,
			run{start: sec(10)}},
		{"failed", newJob("a", startedAt(10), failedAt(50, "DeadlineExceeded")), nil,
			run{result: contract.ResultFailed, reason: "DeadlineExceeded", start: sec(10), end: sec(50)}},
		{"indexed, failed indexes from the status", with(idx, failedAt(50, "FailedIndexes"), func(j *batchv1.Job) { j.Status.FailedIndexes = ptr.To("1,3-5") }), nil,
			run{result: contract.ResultFailed, reason: "FailedIndexes", start: sec(10), end: sec(50), failedIndexes: "1,3-5"}},
		{"indexed, failed indexes from the failed pods", with(idx, failedAt(50, "BackoffLimitExceeded")), []*corev1.Pod{
			newPod(idx, "p2", "", index(2), phase(corev1.PodFailed)), newPod(idx, "p1", "", index(1), phase(corev1.PodFailed)),
			newPod(idx, "p0", "", index(0), phase(corev1.PodSucceeded)), newPod(idx, "p1b", "", index(1), phase(corev1.PodFailed)),
			newPod(idx, "p3", "", index(3), phase(corev1.PodFailed), deleting(40, 30)), // stopped by the controller
		}, run{result: contract.ResultFailed, reason: "BackoffLimitExceeded", start: sec(10), end: sec(50), failedIndexes: "1-2"}},
		{"not indexed: no failed indexes", newJob("a", startedAt(10), failedAt(50, "BackoffLimitExceeded")), []*corev1.Pod{newPod(idx, "p", "", phase(corev1.PodFailed))},
			run{result: contract.ResultFailed, reason: "BackoffLimitExceeded", start: sec(10), end: sec(50)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, jobRun(c.job, func() []*corev1.Pod { return c.pods }), cmp.AllowUnexported(run{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// count is the state machine of the run metrics: each case feeds finished
// runs in the order the watcher sees them.
func TestCount(t *testing.T) {
	ok := func(start, end int) run {
		return run{result: contract.ResultSucceeded, reason: "CompletionsReached", start: sec(start), end: sec(end)}
	}
	fail := func(start, end int, reason string) run {
		return run{result: contract.ResultFailed, reason: reason, start: sec(start), end: sec(end)}
	}
	stopped := func(start, end int) run {
		return run{result: contract.ResultStopped, reason: reasonDeleted, start: sec(start), end: sec(end)}
	}
	for _, c := range []struct {
		name string
		from runState
		runs []run
		want runState
	}{
		{"one success", runState{}, []run{ok(0, 60)}, runState{lastCompletion: sec(60), lastDuration: 60,
			result: contract.ResultSucceeded, reason: "CompletionsReached", lastSuccess: sec(60), lastSuccessStart: sec(0)}},
		{"failures count runs, a success resets", runState{}, []run{fail(0, 10, "BackoffLimitExceeded"), fail(100, 110, "BackoffLimitExceeded"), fail(200, 230, "DeadlineExceeded")},
			runState{lastCompletion: sec(230), lastDuration: 30, result: contract.ResultFailed, reason: "DeadlineExceeded",
				lastFailure: sec(230), failureReason: "DeadlineExceeded", consecutive: 3}},
		{"then a success", runState{}, []run{fail(0, 10, "BackoffLimitExceeded"), fail(100, 110, "BackoffLimitExceeded"), ok(200, 260)},
			runState{lastCompletion: sec(260), lastDuration: 60, result: contract.ResultSucceeded, reason: "CompletionsReached",
				lastSuccess: sec(260), lastSuccessStart: sec(200), lastFailure: sec(110), failureReason: "BackoffLimitExceeded"}},
		// Overlapping runs: B started at 100 while A ran; A fails at 150, B succeeds at 200.
		// The failure stays after the latest success's start (the alert holds), and
		// consecutive failures reset: no failure ended after that success.
		{"overlapping runs", runState{}, []run{fail(0, 150, "BackoffLimitExceeded"), ok(100, 200)},
			runState{lastCompletion: sec(200), lastDuration: 100, result: contract.ResultSucceeded, reason: "CompletionsReached",
				lastSuccess: sec(200), lastSuccessStart: sec(100), lastFailure: sec(150), failureReason: "BackoffLimitExceeded"}},
		// Seen out of order: a success that ended before a failure already counted
		// leaves that failure counted and the latest run the failure.
		{"success seen after a later failure", runState{}, []run{fail(0, 10, "BackoffLimitExceeded"), fail(100, 300, "DeadlineExceeded"), ok(150, 200)},
			runState{lastCompletion: sec(300), lastDuration: 200, result: contract.ResultFailed, reason: "DeadlineExceeded",
				lastSuccess: sec(200), lastSuccessStart: sec(150), lastFailure: sec(300), failureReason: "DeadlineExceeded", consecutive: 1}},
		{"a stopped run changes no count", runState{consecutive: 2, lastFailure: sec(10), lastSuccess: sec(5), failureReason: "x"}, []run{stopped(20, 40)},
			runState{lastCompletion: sec(40), lastDuration: 20, result: contract.ResultStopped, reason: reasonDeleted,
				consecutive: 2, lastFailure: sec(10), lastSuccess: sec(5), failureReason: "x"}},
		{"read-back state goes on", runState{consecutive: 4, lastFailure: sec(10), lastCompletion: sec(10), failureReason: "x"},
			[]run{fail(20, 30, "BackoffLimitExceeded")},
			runState{lastCompletion: sec(30), lastDuration: 10, result: contract.ResultFailed, reason: "BackoffLimitExceeded",
				lastFailure: sec(30), failureReason: "BackoffLimitExceeded", consecutive: 5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.from
			var recent []float64
			for _, r := range c.runs {
				recent = s.count(r, recent)
			}
			if d := cmp.Diff(c.want, s, cmp.AllowUnexported(runState{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestSamplesOnlyWhatIsKnown(t *testing.T) {
	names := func(s runState) string {
		var n []string
		for _, x := range s.samples() {
			n = append(n, x.Name)
		}
		return strings.Join(n, " ")
	}
	if got := names(runState{running: 1, lastStart: sec(0)}); got != contract.MetricRunning+" "+contract.MetricLastStart+" "+contract.MetricConsecutiveFailures {
		t.Errorf("a first run: %s", got)
	}
	got := names(runState{cron: true, suspended: true})
	if !strings.Contains(got, contract.MetricSuspended) || strings.Contains(got, contract.MetricNextRunDeadline) {
		t.Errorf("a suspended CronJob without deadline: %s", got)
	}
}

// What a read-back cannot make of a sample is ignored, never pushed back.
func TestSetIgnoresImpossibleValues(t *testing.T) {
	var s runState
	for _, v := range []float64{-1, math.NaN(), math.Inf(1), 2e9} {
		s.set(contract.MetricConsecutiveFailures, nil, v)
		s.set(contract.MetricLastStart, nil, v)
	}
	if s.consecutive != 0 || s.lastStart != 2e9 {
		t.Errorf("state %+v: want no consecutive failures (2e9 is not a count) and the one valid start", s)
	}
	s.set(contract.MetricLastRunInfo, map[string]string{contract.LabelResult: contract.ResultFailed, contract.LabelReason: "X"}, 1)
	s.set(contract.MetricLastFailureInfo, map[string]string{contract.LabelReason: "Y", contract.LabelFailedIndexes: "1-3"}, 1)
	if s.result != contract.ResultFailed || s.reason != "X" || s.failureReason != "Y" || s.failedIndexes != "1-3" {
		t.Errorf("info labels not read: %+v", s)
	}
}
