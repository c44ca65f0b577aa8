package agent

import (
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// The samples of each push (docs/model.md, "Agent pushes"). Every push is a
// POST: it replaces the metrics it names in the group and keeps the others,
// so a failed run, which does not push the success metrics, leaves the last
// success alone, and a push of an info metric replaces its every series.

func gauge(name string, v float64) pushgateway.Sample {
	return pushgateway.Sample{Name: name, Value: v}
}

func info(name string, labels ...[2]string) pushgateway.Sample {
	return pushgateway.Sample{Name: name, Labels: labels, Value: 1}
}

func ts(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// startSamples is run mode's push at start.
func startSamples(start time.Time, maxAge time.Duration, deadline time.Time) []pushgateway.Sample {
	s := []pushgateway.Sample{
		gauge(contract.MetricRunning, 1),
		gauge(contract.MetricLastStart, ts(start)),
		gauge(contract.MetricMaxAge, maxAge.Seconds()),
	}
	if !deadline.IsZero() {
		s = append(s, gauge(contract.MetricNextRunDeadline, ts(deadline)))
	}
	return s
}

// hungSamples is pushed when the attempt goes stale, and again every
// contract.HungRepushPeriod while it stays so.
func hungSamples(now time.Time, maxAge time.Duration) []pushgateway.Sample {
	return []pushgateway.Sample{gauge(contract.MetricLastHung, ts(now)), gauge(contract.MetricMaxAge, maxAge.Seconds())}
}

// attemptInfo is the ended attempt's reason and detail.
func attemptInfo(reason, detail string) pushgateway.Sample {
	return info(contract.MetricLastAttemptInfo, [2]string{contract.LabelReason, reason}, [2]string{contract.LabelDetail, detail})
}

// attemptSamples are the attempt metrics pushed at exit, in both modes.
func attemptSamples(r result, maxAge time.Duration) []pushgateway.Sample {
	return []pushgateway.Sample{
		attemptInfo(r.reason, r.detail),
		gauge(contract.MetricLastAttemptExitCode, float64(r.code)),
		gauge(contract.MetricLastAttemptEnd, ts(r.end)),
		gauge(contract.MetricLastAttemptDuration, r.end.Sub(r.start).Seconds()),
		gauge(contract.MetricMaxAge, maxAge.Seconds()),
	}
}

// runSamples are run mode's run metrics at exit: the attempt is the run.
// failures is the previous consecutive-failure count; known false means it
// could not be read back, and a failed run then pushes no count rather
// than a wrong one.
func runSamples(r result, deadline time.Time, failures float64, known bool) []pushgateway.Sample {
	res := runResult(r.reason)
	s := []pushgateway.Sample{
		gauge(contract.MetricRunning, 0),
		gauge(contract.MetricLastCompletion, ts(r.end)),
		gauge(contract.MetricLastDuration, r.end.Sub(r.start).Seconds()),
		info(contract.MetricLastRunInfo, [2]string{contract.LabelResult, res}, [2]string{contract.LabelReason, r.reason}),
	}
	if !deadline.IsZero() {
		s = append(s, gauge(contract.MetricNextRunDeadline, ts(deadline)))
	}
	switch res {
	case contract.ResultSucceeded:
		s = append(s,
			gauge(contract.MetricLastSuccess, ts(r.end)),
			gauge(contract.MetricLastSuccessStart, ts(r.start)),
			gauge(contract.MetricConsecutiveFailures, 0))
	case contract.ResultFailed:
		s = append(s,
			gauge(contract.MetricLastFailure, ts(r.end)),
			info(contract.MetricLastFailureInfo, [2]string{contract.LabelReason, r.reason}, [2]string{contract.LabelFailedIndexes, ""}))
		if known {
			s = append(s, gauge(contract.MetricConsecutiveFailures, failures+1))
		}
	}
	return s
}
