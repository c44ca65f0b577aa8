package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is the wrapped command, started with exactly its argv (no shell), the
// wrapper's stdin and environment, and stdout/stderr relayed through pipes so
// that output can count as a sign of life.
type child struct {
	pid int
	// mu is held while the child is reaped and while a signal is sent to it,
	// so that no signal can reach another process that reused its pid.
	mu     sync.Mutex
	done   chan struct{}      // closed once the child has been waited for
	status syscall.WaitStatus // valid after done
	relays []chan struct{}    // closed when each output pipe is drained
}

// signal sends s to the child unless it has been reaped.
func (c *child) signal(s syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(c.pid, s) // it may be a zombie: harmless
	}
}

// startChild starts argv. stdout and stderr get the child's output; act counts
// it and errTail keeps the end of stderr. It forks with syscall.ForkExec, not
// os/exec: os.StartProcess first forks a throwaway process to learn whether
// the kernel has pidfds, which every job would pay for at its start, and
// its wait would hold a thread; the wrapper reaps on SIGCHLD instead.
func startChild(argv, env []string, stdout, stderr *os.File, act *activity, errTail *tail) (*child, error) {
	path := argv[0]
	if !strings.Contains(path, "/") {
		lp, err := exec.LookPath(path)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return nil, err
		}
		path = lp
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{os.Stdin.Fd(), outW.Fd(), errW.Fd()},
	})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, &fs.PathError{Op: "exec", Path: argv[0], Err: err}
	}
	c := &child{pid: pid, done: make(chan struct{})}
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go relay(outR, stdout, act, nil, outDone)
	go relay(errR, stderr, act, errTail, errDone)
	c.relays = []chan struct{}{outDone, errDone}
	return c, nil
}

// exitCode is the shell convention: the child's own code, or 128+N when it
// died of signal N.
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// startErrorCode maps a failure to start name to the shell's codes: 127 when
// it does not exist, 126 when it exists but cannot be executed.
func startErrorCode(name string, err error) int {
	if errors.Is(err, exec.ErrNotFound) && onPath(name) {
		return 126 // exec.LookPath says "not found" for a file without the x bit too
	}
	if name == "" || errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return 127
	}
	return 126
}

// onPath reports whether a file called name (no slash) is in a $PATH directory.
func onPath(name string) bool {
	if name == "" || strings.Contains(name, "/") {
		return false
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// drain waits for the output relays to copy what the child wrote, at most d:
// a grandchild still holding the pipes open must not keep the wrapper alive.
func (c *child) drain(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, r := range c.relays {
		select {
		case <-r:
		case <-ctx.Done():
			return
		}
	}
}
