package agent

import (
	"strconv"
	"syscall"
)

// signalNames are the names of the Linux signals on the architectures the
// agent is built for (amd64, arm64, arm share these numbers). Written out
// rather than taken from golang.org/x/sys/unix, which the tests use as the
// oracle.
var signalNames = [...]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
	8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
	14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
	20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
	26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}

// signalName is the name of s ("SIGKILL"); a real-time signal is SIGRTMIN+N
// as the kernel numbers them (SIGRTMIN is 32 on Linux), as kill -l says.
func signalName(s syscall.Signal) string {
	if s > 0 && int(s) < len(signalNames) {
		return signalNames[s]
	}
	if s >= 32 && s <= 64 {
		return "SIGRTMIN+" + strconv.Itoa(int(s)-32)
	}
	return "signal " + strconv.Itoa(int(s))
}
