//go:build bench

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// peak is a process's own memory over its whole life: VmHWM and VmRSS read
// from /proc/PID/status at the moment it exits (its children not included),
// the highest VmRSS sampled while it ran, and its exit code.
type peak struct {
	HWM, RSS   int64 // KiB, at exit
	SampledRSS int64 // KiB, the highest sample
	Code       int
}

// measurePeak runs argv to its end, traced with ptrace only to stop it once,
// as it exits (PTRACE_O_TRACEEXIT), while its memory is still there to read:
// a peak reached in its last moments (the reporting at exit) is seen, which
// sampling would miss, and only this process's memory counts. (ru_maxrss
// cannot be used: Go starts children with CLONE_VM, so the parent's resident
// memory at the time of the exec would be counted in.) stdout and stderr
// receive its output (nil: /dev/null). Its VmRSS is also sampled every
// 20ms while it runs.
func measurePeak(argv, env []string, stdout, stderr *os.File) (peak, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return peak{}, fmt.Errorf("%s: %w", argv[0], err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return peak{}, err
	}
	defer devnull.Close()
	if stdout == nil {
		stdout = devnull
	}
	if stderr == nil {
		stderr = devnull
	}
	// The tracer is the thread that started the process: every ptrace
	// request must come from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: []*os.File{devnull, stdout, stderr},
		Sys: &syscall.SysProcAttr{Ptrace: true}})
	if err != nil {
		return peak{}, fmt.Errorf("start %v: %w", argv, err)
	}
	defer p.Release()
	pid := p.Pid
	var ws syscall.WaitStatus
	if _, err := wait4(pid, &ws); err != nil || !ws.Stopped() { // stopped at its exec
		_ = p.Kill()
		return peak{}, fmt.Errorf("trace %v: not stopped at exec (%v, status %v)", argv, err, ws)
	}
	if err := unix.PtraceSetOptions(pid, unix.PTRACE_O_TRACEEXIT|unix.PTRACE_O_EXITKILL); err != nil {
		_ = p.Kill()
		return peak{}, fmt.Errorf("trace %v: %w", argv, err)
	}
	status := fmt.Sprintf("/proc/%d/status", pid)
	done := make(chan struct{})
	sampled := make(chan int64, 1)
	go func() {
		var highest int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(status); err == nil {
				highest = max(highest, statusKiB(string(b), "VmRSS:"))
			}
			select {
			case <-done:
				sampled <- highest
				return
			case <-t.C:
			}
		}
	}()
	var res peak
	sig := 0
	for {
		if err := syscall.PtraceCont(pid, sig); err != nil {
			close(done)
			return peak{}, fmt.Errorf("trace %v: continue: %w", argv, err)
		}
		if _, err := wait4(pid, &ws); err != nil {
			close(done)
			return peak{}, fmt.Errorf("trace %v: wait: %w", argv, err)
		}
		sig = 0
		switch {
		case ws.Exited() || ws.Signaled():
			close(done)
			res.SampledRSS = max(<-sampled, res.RSS)
			res.Code = ws.ExitStatus()
			if ws.Signaled() {
				res.Code = 128 + int(ws.Signal())
			}
			if res.HWM == 0 {
				return peak{}, fmt.Errorf("trace %v: exited without an exit stop", argv)
			}
			return res, nil
		case ws.Stopped() && ws.StopSignal() == syscall.SIGTRAP && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT:
			b, err := os.ReadFile(status)
			if err != nil {
				close(done)
				return peak{}, fmt.Errorf("trace %v: status at exit: %w", argv, err)
			}
			res.HWM, res.RSS = statusKiB(string(b), "VmHWM:"), statusKiB(string(b), "VmRSS:")
		case ws.Stopped() && ws.StopSignal() != syscall.SIGTRAP:
			sig = int(ws.StopSignal()) // a signal for it: deliver it
		}
	}
}

// wait4 waits for pid, retrying when interrupted.
func wait4(pid int, ws *syscall.WaitStatus) (int, error) {
	for {
		n, err := syscall.Wait4(pid, ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			return n, err
		}
	}
}
