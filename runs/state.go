package runs

import (
	"math"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// runState is a workload's run metrics (docs/model.md), times in Unix
// seconds (zero: unknown). It is what the run group holds: read back from
// the Pushgateway, advanced by counting runs, pushed whole.
type runState struct {
	running          int
	lastStart        float64
	lastCompletion   float64
	lastDuration     float64
	result, reason   string // of the latest finished run; result empty: none yet
	lastSuccess      float64
	lastSuccessStart float64
	lastFailure      float64
	failureReason    string
	failedIndexes    string
	consecutive      int

	cron      bool // the workload is a CronJob's: the two metrics below are pushed
	deadline  float64
	suspended bool
}

// watermark is the end of the latest counted run (success or failure): a
// run that ended at or before it is taken as already counted.
func (s *runState) watermark() float64 { return max(s.lastSuccess, s.lastFailure) }

// maxRecent bounds the failures remembered for counting a success that is
// seen after failures that ended later than it.
const maxRecent = 64

// count adds one finished run to the state. recent holds the ends of the
// failures counted since the latest success, so that a success seen after a
// failure that ended later (two overlapping runs) leaves that failure
// counted; it returns recent updated.
//
//   - the latest run by end sets the completion, duration and
//     jobcheck_last_run_info, whatever its result;
//   - a success moves the latest success (end) and the latest successful
//     run's start (the latest start of any success), and resets the
//     consecutive failures to those that ended after it;
//   - a failure that ended after the latest success adds one consecutive
//     failure; the latest failure by end sets jobcheck_last_failure_*;
//   - a stopped run (its Job deleted before it finished) changes neither.
func (s *runState) count(r run, recent []float64) []float64 {
	if r.end >= s.lastCompletion {
		s.lastCompletion = r.end
		s.lastDuration = max(r.end-r.start, 0)
		s.result, s.reason = r.result, r.reason
	}
	switch r.result {
	case contract.ResultSucceeded:
		s.lastSuccessStart = max(s.lastSuccessStart, r.start)
		if r.end > s.lastSuccess {
			s.lastSuccess = r.end
			kept := recent[:0]
			for _, f := range recent {
				if f > r.end {
					kept = append(kept, f)
				}
			}
			recent = kept
			s.consecutive = len(recent)
		}
	case contract.ResultFailed:
		if r.end >= s.lastFailure {
			s.lastFailure = r.end
			s.failureReason, s.failedIndexes = r.reason, r.failedIndexes
		}
		if r.end > s.lastSuccess {
			s.consecutive++
			recent = append(recent, r.end)
			if len(recent) > maxRecent {
				recent = recent[len(recent)-maxRecent:]
			}
		}
	}
	return recent
}

// samples are the state's metrics, to push to the run group: each one only
// once it is known, the consecutive failures always.
func (s *runState) samples() []pushgateway.Sample {
	out := make([]pushgateway.Sample, 0, 12)
	add := func(name string, v float64, labels ...[2]string) {
		out = append(out, pushgateway.Sample{Name: name, Labels: labels, Value: v})
	}
	add(contract.MetricRunning, float64(s.running))
	if s.lastStart > 0 {
		add(contract.MetricLastStart, s.lastStart)
	}
	if s.lastCompletion > 0 {
		add(contract.MetricLastCompletion, s.lastCompletion)
		add(contract.MetricLastDuration, s.lastDuration)
	}
	if s.result != "" {
		add(contract.MetricLastRunInfo, 1, [2]string{contract.LabelResult, s.result}, [2]string{contract.LabelReason, s.reason})
	}
	if s.lastSuccess > 0 {
		add(contract.MetricLastSuccess, s.lastSuccess)
	}
	if s.lastSuccessStart > 0 {
		add(contract.MetricLastSuccessStart, s.lastSuccessStart)
	}
	if s.lastFailure > 0 {
		add(contract.MetricLastFailure, s.lastFailure)
		add(contract.MetricLastFailureInfo, 1, [2]string{contract.LabelReason, s.failureReason}, [2]string{contract.LabelFailedIndexes, s.failedIndexes})
	}
	add(contract.MetricConsecutiveFailures, float64(s.consecutive))
	if s.cron {
		if s.deadline > 0 {
			add(contract.MetricNextRunDeadline, s.deadline)
		}
		suspended := 0.0
		if s.suspended {
			suspended = 1
		}
		add(contract.MetricSuspended, suspended)
	}
	return out
}

// runMetrics are the metrics read back into a runState.
var runMetrics = []string{
	contract.MetricLastStart, contract.MetricLastCompletion, contract.MetricLastDuration,
	contract.MetricLastRunInfo, contract.MetricLastSuccess, contract.MetricLastSuccessStart,
	contract.MetricLastFailure, contract.MetricLastFailureInfo, contract.MetricConsecutiveFailures,
}

// set takes one read-back sample of the run group into the state; labels
// are the sample's own (the info metrics'). The running count, deadline and
// suspension are not read back: they are recomputed from the objects. A
// value that cannot be one of ours (negative, NaN, infinite) is ignored.
func (s *runState) set(name string, labels map[string]string, v float64) {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	switch name {
	case contract.MetricLastStart:
		s.lastStart = v
	case contract.MetricLastCompletion:
		s.lastCompletion = v
	case contract.MetricLastDuration:
		s.lastDuration = v
	case contract.MetricLastRunInfo:
		s.result, s.reason = labels[contract.LabelResult], labels[contract.LabelReason]
	case contract.MetricLastSuccess:
		s.lastSuccess = v
	case contract.MetricLastSuccessStart:
		s.lastSuccessStart = v
	case contract.MetricLastFailure:
		s.lastFailure = v
	case contract.MetricLastFailureInfo:
		s.failureReason, s.failedIndexes = labels[contract.LabelReason], labels[contract.LabelFailedIndexes]
	case contract.MetricConsecutiveFailures:
		if v < 1e9 {
			s.consecutive = int(v)
		}
	}
}
