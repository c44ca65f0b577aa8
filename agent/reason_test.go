package agent

import (
	"syscall"
	"testing"
)

func TestReasonPrecedence(t *testing.T) {
	exited := func(code int) syscall.WaitStatus { return syscall.WaitStatus(code << 8) }
	killed := func(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }
	cases := []struct {
		name string
		o    outcome
		want string
	}{
		{"exit 0", outcome{started: true, status: exited(0)}, reasonSucceeded},
		{"exit 0 after preStop is still a success", outcome{started: true, status: exited(0), terminated: true}, reasonSucceeded},
		{"exit 1", outcome{started: true, status: exited(1)}, reasonFailed},
		{"not started", outcome{}, reasonFailed},
		{"SIGKILL", outcome{started: true, status: killed(syscall.SIGKILL)}, reasonSignaled},
		{"OOM kill", outcome{started: true, status: killed(syscall.SIGKILL), oomKills: true}, reasonOOMKilled},
		{"OOM kill of a grandchild, shell exits 137", outcome{started: true, status: exited(137), oomKills: true}, reasonOOMKilled},
		{"SIGTERM with a stale heartbeat", outcome{started: true, status: killed(syscall.SIGTERM), stale: true}, reasonHung},
		{"liveness kill runs preStop too: hung wins", outcome{started: true, status: killed(syscall.SIGTERM), stale: true, terminated: true}, reasonHung},
		{"SIGTERM after preStop", outcome{started: true, status: killed(syscall.SIGTERM), terminated: true}, reasonTerminated},
		{"exit 143 after preStop", outcome{started: true, status: exited(143), terminated: true}, reasonTerminated},
		{"stale but exited by itself", outcome{started: true, status: exited(2), stale: true}, reasonFailed},
	}
	for _, tc := range cases {
		if got := tc.o.reason(); got != tc.want {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.want)
		}
	}
}
