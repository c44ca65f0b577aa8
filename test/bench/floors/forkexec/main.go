//go:build bench

// Command forkexec is the floor of any wrapper written in Go: it links net
// and crypto/tls like the agent, then forks, execs its arguments and waits
// for them, and exits with their exit code. No pipes, no signals, no
// heartbeat, no reporting: what `jobcheck run` adds beyond it is its own.
//
//	forkexec /bin/true
package main

import (
	_ "crypto/tls"
	_ "net"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: forkexec CMD [ARGS...]\n")
		os.Exit(2)
	}
	pid, err := syscall.ForkExec(os.Args[1], os.Args[1:], &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		os.Stderr.WriteString("forkexec: " + err.Error() + "\n")
		os.Exit(127)
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ws.ExitStatus())
}
