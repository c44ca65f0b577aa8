package agent

import (
	"syscall"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// outcome is what is known about an ended attempt when choosing its reason.
type outcome struct {
	status  syscall.WaitStatus
	started bool // false: the command could not be started
	oomKill bool // the cgroup's OOM-kill counter went up during the attempt
	// terminating: Kubernetes began stopping the attempt: the preStop
	// marker appeared or the wrapper received SIGTERM or SIGINT.
	terminating bool
	// stale: the heartbeat was older than the max age when termination
	// began (or, without termination, when the child died of a signal).
	stale bool
}

// reason picks the most specific explanation of an attempt's end
// (docs/model.md): exit 0 is a success whatever happened before; an OOM
// kill; hung when it ended after its heartbeat went stale, whatever the
// process did with the SIGTERM of the liveness kill (a JVM exits 143);
// terminated when Kubernetes stopped it; signaled when it died of a signal
// nobody in Kubernetes sent; else failed.
func (o outcome) reason() string {
	switch {
	case !o.started:
		return contract.ReasonFailed
	case o.status.Exited() && o.status.ExitStatus() == 0:
		return contract.ReasonSucceeded
	case o.oomKill:
		return contract.ReasonOOMKilled
	case o.stale && (o.terminating || o.status.Signaled()):
		return contract.ReasonHung
	case o.terminating:
		return contract.ReasonTerminated
	case o.status.Signaled():
		return contract.ReasonSignaled
	default:
		return contract.ReasonFailed
	}
}

// detail is the detail label: the signal's name when the child died of one.
func (o outcome) detail() string {
	if o.started && o.status.Signaled() {
		return signalName(o.status.Signal())
	}
	return ""
}

// result is what an ended attempt reports.
type result struct {
	start, end time.Time
	code       int
	reason     string
	detail     string
}

// runResult is the run's result in run mode, where the attempt is the run:
// succeeded is a succeeded run, terminated a stopped one, anything else a
// failed one.
func runResult(reason string) string {
	switch reason {
	case contract.ReasonSucceeded:
		return contract.ResultSucceeded
	case contract.ReasonTerminated:
		return contract.ResultStopped
	}
	return contract.ResultFailed
}
