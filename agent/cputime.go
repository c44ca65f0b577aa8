package agent

import "github.com/prometheus/procfs"

// treeCPU returns the CPU time, in clock ticks, spent by the process root and
// all its descendants (including children they already waited for). In
// progress mode a change of this number is a sign of life, even from a child
// that computes silently. It returns false when /proc cannot be read.
func treeCPU(fs procfs.FS, root int) (uint64, bool) {
	procs, err := fs.AllProcs()
	if err != nil {
		return 0, false
	}
	type node struct {
		ppid int
		cpu  uint64
	}
	nodes := make(map[int]node, len(procs))
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil {
			continue // the process exited while we looked
		}
		cpu := uint64(st.UTime) + uint64(st.STime) + uint64(max(st.CUTime, 0)) + uint64(max(st.CSTime, 0))
		nodes[p.PID] = node{ppid: st.PPID, cpu: cpu}
	}
	if _, ok := nodes[root]; !ok {
		return 0, false
	}
	var total uint64
	for pid, n := range nodes {
		for p, steps := pid, 0; steps < len(nodes); steps++ {
			if p == root {
				total += n.cpu
				break
			}
			parent, ok := nodes[p]
			if !ok || parent.ppid == p {
				break
			}
			p = parent.ppid
		}
	}
	return total, true
}
