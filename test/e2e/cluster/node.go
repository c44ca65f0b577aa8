package cluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ContainerPID returns the host PID of a container's first process (for a wrapped
// container: the jobcheck wrapper), from containerd's task list. containerID is the
// pod status's "containerd://ID".
func (c *Cluster) ContainerPID(ctx context.Context, containerID string) (int, error) {
	id := strings.TrimPrefix(containerID, "containerd://")
	if id == "" {
		return 0, fmt.Errorf("no container id")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ctr", "--address", c.Socket, "--namespace", "k8s.io", "tasks", "ls").Output()
	if err != nil {
		return 0, fmt.Errorf("ctr tasks ls: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == id {
			pid, err := strconv.Atoi(f[1])
			if err != nil {
				return 0, fmt.Errorf("task %s: pid %q: %w", id, f[1], err)
			}
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no task %s in containerd", id)
}

// ContainerLog returns what a container wrote (stdout and stderr, in order), read from
// the kubelet's log files: `kubectl logs` does not work with a loopback node IP. A
// restarted container's earlier runs come first.
func (c *Cluster) ContainerLog(pod *corev1.Pod, container string) (string, error) {
	dir := c.path("pod-logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), container)
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no log files in %s: %v", dir, err)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", f, err)
		}
		// CRI log lines: TIMESTAMP STREAM TAG CONTENT (TAG P: partial line, F: full).
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			parts := strings.SplitN(line, " ", 4)
			if len(parts) < 4 {
				continue
			}
			b.WriteString(parts[3])
			if parts[2] == "F" {
				b.WriteByte('\n')
			}
		}
	}
	return b.String(), nil
}
