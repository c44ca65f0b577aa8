package agent

import "syscall"

// Reasons of jobcheck_last_run_info.
const (
	reasonSucceeded  = "succeeded"
	reasonFailed     = "failed"
	reasonSignaled   = "signaled"
	reasonOOMKilled  = "oom_killed"
	reasonHung       = "hung"
	reasonTerminated = "terminated"
)

// outcome is what is known about a finished run when choosing its reason.
type outcome struct {
	status     syscall.WaitStatus
	started    bool // false: the command could not be started
	oomKills   bool // the cgroup's OOM-kill counter went up during the run
	stale      bool // the heartbeat was older than the max age at the end
	terminated bool // `jobcheck prestop` left its marker
}

// reason picks the most specific explanation of a run's end. Exit 0 is always
// a success, even after a preStop (the job finished its work). A liveness kill
// also runs the preStop hook, so a stale heartbeat wins over the marker.
func (o outcome) reason() string {
	switch {
	case o.started && o.status.Exited() && o.status.ExitStatus() == 0:
		return reasonSucceeded
	case !o.started:
		return reasonFailed
	case o.oomKills:
		return reasonOOMKilled
	case o.status.Signaled() && o.stale:
		return reasonHung
	case o.terminated:
		return reasonTerminated
	case o.status.Signaled():
		return reasonSignaled
	default:
		return reasonFailed
	}
}
