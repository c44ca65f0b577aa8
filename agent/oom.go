package agent

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// oomCounter reads the OOM-kill counter of the cgroup the agent runs in, so
// that a child killed by the kernel's OOM killer is reported as oom_killed
// rather than as an ordinary SIGKILL. root is the cgroup mount point
// (/sys/fs/cgroup) and procSelfCgroup the contents of /proc/self/cgroup;
// both are parameters so the logic can be tested over fake files.
type oomCounter struct {
	files []string // candidate counter files, most specific first
}

// newOOMCounter finds the counter files for cgroup v2 (memory.events, key
// oom_kill) and cgroup v1 (memory.oom_control, key oom_kill, kernel >= 4.13).
// Inside a container the cgroup namespace makes the mount root the container's
// own cgroup, so the root files are tried after the path from procSelfCgroup.
func newOOMCounter(root, procSelfCgroup string) oomCounter {
	var files []string
	for _, line := range strings.Split(procSelfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			files = append(files, filepath.Join(root, parts[2], "memory.events"),
				filepath.Join(root, "unified", parts[2], "memory.events"))
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			files = append(files, filepath.Join(root, "memory", parts[2], "memory.oom_control"))
		}
	}
	files = append(files, filepath.Join(root, "memory.events"), filepath.Join(root, "memory", "memory.oom_control"))
	return oomCounter{files: files}
}

// read returns the first readable counter, and false when none can be read
// (no cgroup, a kernel without the counter): OOM detection is then off.
func (o oomCounter) read() (uint64, bool) {
	for _, f := range o.files {
		if n, ok := readKey(f, "oom_kill"); ok {
			return n, true
		}
	}
	return 0, false
}

// readKey reads "key value" lines and returns the value of key.
func readKey(path, key string) (uint64, bool) {
	var buf [1024]byte
	b, err := readSmall(path, buf[:])
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// systemOOMCounter is the counter of the cgroup this process runs in.
func systemOOMCounter() oomCounter {
	var buf [4096]byte
	b, _ := readSmall("/proc/self/cgroup", buf[:])
	return newOOMCounter("/sys/fs/cgroup", string(b))
}
