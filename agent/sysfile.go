package agent

import (
	"syscall"
)

// readSmall reads a small file of /proc or cgroupfs into buf with three
// system calls. os.Open would add five more (it tries to register every
// file with the network poller), and the wrapper reads such files at its
// start and at every heartbeat check.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &pathError{path, err}
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &pathError{path, err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return "read " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }
