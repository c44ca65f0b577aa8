package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is one process the harness started, recorded with enough to find exactly that
// process again from another program (`localcluster down`): its pid and its start time,
// so that a pid the kernel has since reused for someone else's process is never signalled.
type Proc struct {
	Name  string   `json:"name"`
	Pid   int      `json:"pid"`
	Start uint64   `json:"start"` // field 22 of /proc/PID/stat: clock ticks after boot
	Log   string   `json:"log"`
	Args  []string `json:"args"`
}

// startProc starts argv in its own session (so a terminal's Ctrl-C reaches only the
// test, whose handler then stops everything in order) with stdout and stderr appended
// to logPath.
func startProc(name, logPath string, argv, env []string) (*Proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	start, _, err := procStat(cmd.Process.Pid)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	// Reap it when it exits so that a dead process does not linger as a zombie.
	go func() { _ = cmd.Wait() }()
	return &Proc{Name: name, Pid: cmd.Process.Pid, Start: start, Log: logPath, Args: argv}, nil
}

// procStat reads a process's start time and state from /proc/PID/stat.
func procStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, fmt.Errorf("parse stat of pid %d: no command field", pid)
	}
	fields := strings.Fields(s[i+2:])
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(fields))
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse start time of pid %d: %w", pid, err)
	}
	return start, fields[0][0], nil
}

// Alive reports whether the recorded process still runs (a zombie does not count).
func (p *Proc) Alive() bool {
	start, state, err := procStat(p.Pid)
	return err == nil && start == p.Start && state != 'Z' && state != 'X'
}

// Stop sends SIGTERM, waits up to grace, then SIGKILL. It never signals a process that
// is not the recorded one.
func (p *Proc) Stop(grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	if err := syscall.Kill(p.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.Pid, err)
	}
	if waitGone(p, grace) {
		return nil
	}
	if !p.Alive() {
		return nil
	}
	if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.Pid, err)
	}
	if !waitGone(p, 10*time.Second) {
		return fmt.Errorf("kill %s (pid %d): still running", p.Name, p.Pid)
	}
	return nil
}

func waitGone(p *Proc, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !p.Alive() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !p.Alive()
}
