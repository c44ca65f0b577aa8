package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// This file holds what a node changes on the machine outside its run directory and how
// the harness undoes it, so that a run leaves the machine as it found it.

// kubeletSysctls are the kernel settings the kubelet rewrites at start
// (setupKernelTunables); their values before the run are restored at teardown.
var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// machineDirs are directories outside the run directory that the kubelet, mount or
// the containerd shims create whatever their configuration says (the device plugin
// socket's path is a constant of the kubelet, for one). Each that did not exist before
// the run is removed at teardown, deepest first, with the sockets in it; anything else
// found in it (another program's files) keeps it in place.
var machineDirs = []string{"/var/log/containers", "/var/lib/kubelet/device-plugins", "/var/lib/kubelet",
	"/run/containerd/s", "/run/containerd", "/run/mount", "/var/lib/cni/results", "/var/lib/cni"}

// Machine is what the harness recorded of the machine before its node started.
type Machine struct {
	Sysctls     map[string]string `json:"sysctls"`
	MissingDirs []string          `json:"missing_dirs"`
}

func recordMachine() Machine {
	m := Machine{Sysctls: map[string]string{}}
	for _, k := range kubeletSysctls {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
			m.Sysctls[k] = strings.TrimSpace(string(b))
		}
	}
	for _, d := range machineDirs {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			m.MissingDirs = append(m.MissingDirs, d)
		}
	}
	return m
}

// restore puts back what recordMachine saw; it reports every step that failed.
func (m Machine) restore(runDir string) error {
	var errs []error
	for k, v := range m.Sysctls {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil && strings.TrimSpace(string(b)) == v {
			continue
		}
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore sysctl %s=%s: %w", k, v, err))
		}
	}
	// The kubelet's legacy log symlinks point into the run directory's pod-logs.
	if entries, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, e := range entries {
			p := filepath.Join("/var/log/containers", e.Name())
			if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, runDir+"/") {
				_ = os.Remove(p)
			}
		}
	}
	for _, d := range m.MissingDirs { // deepest first: the list is ordered that way
		removeSockets(d)
		_ = os.Remove(d) // only succeeds when empty
	}
	return errors.Join(errs...)
}

// cgroupHierarchies returns the cgroup mount points: one per v1 controller, or the
// single v2 tree.
func cgroupHierarchies() ([]string, error) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}, nil
	}
	var out []string
	for _, mp := range mountPoints() {
		if strings.HasPrefix(mp.point, "/sys/fs/cgroup/") && mp.fstype == "cgroup" {
			out = append(out, mp.point)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no cgroup hierarchy mounted under /sys/fs/cgroup")
	}
	return out, nil
}

// makeCgroupRoot creates the run's own cgroup parent in every hierarchy, so that the
// kubelet's pods live under it (kubelet cgroupRoot) and never mix with another run's.
func makeCgroupRoot(name string) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		d := filepath.Join(h, name)
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
		// A new cpuset cgroup starts with no cpus and mems: copy the parent's.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				_ = os.WriteFile(filepath.Join(d, f), b, 0o644)
			}
		}
	}
	return nil
}

// cgroupProcs lists every process in the run's cgroup tree: the pods' processes.
func cgroupProcs(name string) []int {
	hs, _ := cgroupHierarchies()
	seen := map[int]bool{}
	for _, h := range hs {
		_ = filepath.WalkDir(filepath.Join(h, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	pids := make([]int, 0, len(seen))
	for pid := range seen {
		pids = append(pids, pid)
	}
	return pids
}

// removeCgroupRoot removes the run's cgroup tree, deepest first.
func removeCgroupRoot(name string) error {
	hs, _ := cgroupHierarchies()
	var errs []error
	for _, h := range hs {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, name), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

type mountPoint struct{ point, fstype string }

// mountPoints parses /proc/self/mountinfo.
func mountPoints() []mountPoint {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mountPoint
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := mountPoint{point: unescapeMount(fields[4])}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				mp.fstype = fields[i+1]
				break
			}
		}
		out = append(out, mp)
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder detaches every mount at or below dir (pod volumes, container root
// filesystems, sandbox network namespaces and shm), deepest first.
func unmountUnder(dir string) error {
	var errs []error
	for range 3 { // mounts can be stacked on one another: repeat until none is left
		var points []string
		for _, mp := range mountPoints() {
			if mp.point == dir || strings.HasPrefix(mp.point, dir+"/") {
				points = append(points, mp.point)
			}
		}
		if len(points) == 0 {
			return nil
		}
		sort.Sort(sort.Reverse(sort.StringSlice(points)))
		errs = errs[:0]
		for _, p := range points {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// processesWithArg returns the pids of processes whose command line contains arg as
// one of its words: the containerd shims of this run carry its unique socket path.
func processesWithArg(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(b), "\x00") {
			if a == arg {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// deleteLink removes a network interface the run created (the CNI bridge).
func deleteLink(name string) error {
	if exec.Command("ip", "link", "show", name).Run() != nil {
		return nil
	}
	if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete link %s: %w: %s", name, err, out)
	}
	return nil
}

// removeSockets removes the unix sockets directly in dir (the kubelet's device plugin
// socket, a dead shim's socket).
func removeSockets(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Type()&fs.ModeSocket != 0 {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
