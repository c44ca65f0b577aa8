package agent

import (
	"os"
	"os/signal"
	"syscall"
)

// reaper waits for the child on SIGCHLD, with wait4(WNOHANG): no thread is
// held in a blocking wait. When the wrapper is PID 1 (a container's first
// process), orphaned grandchildren are re-parented to it and nobody else
// will wait for them, so it reaps every exited child (wait4(-1)) and
// records the main child's status when it comes by, instead of losing it:
// a separate wait on the main child would race with wait4(-1) and could
// find its status already stolen.
type reaper struct {
	sigchld chan os.Signal
	all     bool // PID 1: reap every child
}

// newReaper subscribes to SIGCHLD; call it before starting the child so no
// SIGCHLD is missed.
func newReaper() *reaper {
	r := &reaper{sigchld: make(chan os.Signal, 8), all: os.Getpid() == 1}
	signal.Notify(r.sigchld, syscall.SIGCHLD)
	return r
}

// run reaps until the main child c has been waited for, then closes c.done.
// A child whose status cannot be read counts as exit 1, never as a success.
func (r *reaper) run(c *child) {
	for {
		c.mu.Lock()
		ws, ok, gone := r.reap(c.pid)
		if ok || gone {
			if gone {
				ws = syscall.WaitStatus(1 << 8)
			}
			c.status = ws
			close(c.done)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		<-r.sigchld
	}
}

// reap waits, without blocking, for the main child (and, as PID 1, for
// every exited child). gone: the main child cannot be waited for at all.
func (r *reaper) reap(main int) (ws syscall.WaitStatus, ok, gone bool) {
	if !r.all {
		for {
			pid, err := syscall.Wait4(main, &ws, syscall.WNOHANG, nil)
			switch {
			case err == syscall.EINTR:
				continue
			case err != nil:
				return 0, false, true
			}
			return ws, pid == main, false
		}
	}
	ws, ok = reapExited(main)
	return ws, ok, false
}

// keepReaping reaps orphans until stop is closed: used as PID 1 after the
// main child exited while the wrapper is still reporting. Orphans that exit
// later are reaped by the kernel when PID 1 itself exits.
func (r *reaper) keepReaping(stop <-chan struct{}) {
	defer signal.Stop(r.sigchld)
	for {
		reapExited(0)
		select {
		case <-r.sigchld:
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
