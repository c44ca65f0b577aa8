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
	"syscall"
	"time"
)

// child is the wrapped command, started with exactly its argv (no shell), the
// wrapper's stdin and environment, and stdout/stderr relayed through pipes so
// that output can count as a sign of life.
type child struct {
	proc   *os.Process
	done   chan struct{}      // closed once the child has been waited for
	status syscall.WaitStatus // valid after done
	relays []chan struct{}    // closed when each output pipe is drained
}

// startChild starts argv. stdout and stderr get the child's output; act counts
// it and errTail keeps the end of stderr.
func startChild(argv, env []string, stdout, stderr *os.File, act *activity, errTail *tail) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	cmd.Env = env
	cmd.Stdin = os.Stdin
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
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	c := &child{proc: cmd.Process, done: make(chan struct{})}
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go relay(outR, stdout, act, nil, outDone)
	go relay(errR, stderr, act, errTail, errDone)
	c.relays = []chan struct{}{outDone, errDone}
	return c, nil
}

// waitDirect waits for the child when the wrapper is not PID 1.
func (c *child) waitDirect() {
	c.status = syscall.WaitStatus(1 << 8) // exit 1 unless the real status is seen: never a success not seen
	if ps, err := c.proc.Wait(); err == nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			c.status = ws
		}
	}
	close(c.done)
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
