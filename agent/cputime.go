package agent

import (
	"bytes"
	"os"
	"strconv"
)

// cpuReader reads the CPU time of a process tree from /proc by hand: one
// directory listing and one small read per process, its buffer reused.
type cpuReader struct {
	proc string // /proc
	buf  []byte
}

// procStat is what treeCPU needs of /proc/PID/stat.
type procStat struct {
	ppid int
	cpu  uint64 // utime + stime + cutime + cstime, in clock ticks
}

// treeCPU returns the CPU time, in clock ticks, spent by root and all its
// descendants (including the children they already waited for). In
// progress mode a change of this number is a sign of life, even from a
// child that computes silently. It reports false when /proc cannot be read
// or root is gone.
func (r *cpuReader) treeCPU(root int) (uint64, bool) {
	d, err := os.Open(r.proc)
	if err != nil {
		return 0, false
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, false
	}
	procs := make(map[int]procStat, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue // not a process
		}
		if st, ok := r.stat(pid); ok {
			procs[pid] = st
		}
	}
	if _, ok := procs[root]; !ok {
		return 0, false
	}
	var total uint64
	for pid, st := range procs {
		for p, steps := pid, 0; steps < len(procs); steps++ {
			if p == root {
				total += st.cpu
				break
			}
			parent, ok := procs[p]
			if !ok || parent.ppid == p {
				break
			}
			p = parent.ppid
		}
	}
	return total, true
}

// stat reads /proc/PID/stat; false when the process exited meanwhile.
func (r *cpuReader) stat(pid int) (procStat, bool) {
	if r.buf == nil {
		r.buf = make([]byte, 1024)
	}
	b, err := readSmall(r.proc+"/"+strconv.Itoa(pid)+"/stat", r.buf)
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

// parseStat parses a /proc/PID/stat line. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	// After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
	f := bytes.Fields(b[i+1:])
	if len(f) < 15 {
		return procStat{}, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return procStat{}, false
	}
	var cpu uint64
	for _, field := range f[11:15] {
		v, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil {
			return procStat{}, false
		}
		cpu += uint64(max(v, 0))
	}
	return procStat{ppid: ppid, cpu: cpu}, true
}
