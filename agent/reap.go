package agent

import (
	"os"
	"os/signal"
	"syscall"
)

// reaper is active when the wrapper is PID 1 (a container's first process).
// Orphaned grandchildren are re-parented to PID 1, and nobody else will wait
// for them, so every SIGCHLD it reaps all exited children with
// wait4(-1, WNOHANG). The main child is reaped by the same loop, which records
// its status instead of losing it: a separate wait on the main child would race
// with wait4(-1) and could find its status already stolen.
type reaper struct {
	sigchld chan os.Signal
}

// newReaper subscribes to SIGCHLD; call it before starting the child so no
// SIGCHLD is missed.
func newReaper() *reaper {
	r := &reaper{sigchld: make(chan os.Signal, 8)}
	signal.Notify(r.sigchld, syscall.SIGCHLD)
	return r
}

// run reaps until the main child c has been waited for, then closes c.done.
// Orphans that exit later are reaped by the kernel when PID 1 itself exits.
func (r *reaper) run(c *child) {
	defer signal.Stop(r.sigchld)
	for {
		if ws, ok := reapExited(c.proc.Pid); ok {
			c.status = ws
			close(c.done)
			return
		}
		<-r.sigchld
	}
}

// keepReaping reaps orphans until stop is closed: used after the main child
// exited while the wrapper is still reporting.
func keepReaping(stop <-chan struct{}) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGCHLD)
	defer signal.Stop(ch)
	for {
		reapExited(0)
		select {
		case <-ch:
		case <-stop:
			return
		}
	}
}

// reapExited waits for every child that has exited, without blocking. When
// one of them is main, it stops there and returns main's status.
func reapExited(main int) (syscall.WaitStatus, bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return 0, false
		}
		if main > 0 && pid == main {
			return ws, true
		}
	}
}
