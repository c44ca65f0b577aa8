package agent

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// forwardedSignals are passed on to the child: the ones a container runtime,
// a terminal or an operator sends to stop or poke a job.
var forwardedSignals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// signalForwarder catches the forwarded signals from before the child starts
// (so none is lost or kills the wrapper) and relays them once it runs.
type signalForwarder struct {
	ch   chan os.Signal
	pipe chan os.Signal
}

// newSignalForwarder starts catching the forwarded signals. A signal the
// wrapper was started with ignored (nohup's SIGHUP, a shell's trap "") is left
// ignored: the child inherits that, as it would unwrapped.
func newSignalForwarder() *signalForwarder {
	f := &signalForwarder{ch: make(chan os.Signal, 16), pipe: make(chan os.Signal, 1)}
	for _, s := range forwardedSignals {
		if !signal.Ignored(s) {
			signal.Notify(f.ch, s)
		}
	}
	// A write to a closed stdout must return EPIPE, not kill the wrapper (and
	// with it the job's result). Notify, unlike Ignore, is not inherited by the child.
	signal.Notify(f.pipe, syscall.SIGPIPE)
	return f
}

// forward relays signals to the child c until it has been reaped. A SIGTERM or SIGINT
// means the attempt is being stopped (by Kubernetes, or by a person at a
// terminal): terminating is called with the time it arrived before the
// child gets it, so that what the child does after it (a JVM's shutdown
// output) is not taken for a sign of life from before it.
func (f *signalForwarder) forward(c *child, terminating func(time.Time)) {
	for {
		select {
		case s := <-f.ch:
			if s == syscall.SIGTERM || s == syscall.SIGINT {
				terminating(time.Now())
			}
			c.signal(s.(syscall.Signal))
		case <-f.pipe:
		case <-c.done:
			return
		}
	}
}
