package agent

import (
	"os"
	"os/signal"
	"syscall"
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

// forward relays signals to p until done is closed.
func (f *signalForwarder) forward(p *os.Process, done <-chan struct{}) {
	for {
		select {
		case s := <-f.ch:
			_ = p.Signal(s) // the child may have exited meanwhile
		case <-f.pipe:
		case <-done:
			return
		}
	}
}
