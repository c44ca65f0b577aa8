package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jobcheck/jobcheck/contract"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOOMCounterReadsCgroupV1AndV2(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string // relative to the fake /sys/fs/cgroup
		cgroup string            // fake /proc/self/cgroup
		want   uint64
		ok     bool
	}{
		{"v2 in a container (namespace root)",
			map[string]string{"memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n"},
			"0::/\n", 2, true},
		{"v2 on a host, own cgroup path",
			map[string]string{"system.slice/cron.service/memory.events": "oom 1\noom_kill 5\n", "memory.events": "oom_kill 9\n"},
			"0::/system.slice/cron.service\n", 5, true},
		{"v1 memory controller",
			map[string]string{"memory/kubepods/pod1/c1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"},
			"4:memory:/kubepods/pod1/c1\n3:cpu,cpuacct:/kubepods/pod1/c1\n", 3, true},
		{"v1 in a container (namespace root)",
			map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"},
			"4:memory:/kubepods/pod1/c1\n", 1, true},
		{"v1 kernel without the counter",
			map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n"},
			"4:memory:/\n", 0, false},
		{"no cgroup at all", nil, "", 0, false},
		{"garbage", map[string]string{"memory.events": "oom_kill lots\n"}, "0::/\n", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, c := range tc.files {
				writeFile(t, filepath.Join(root, p), c)
			}
			got, ok := newOOMCounter(root, tc.cgroup).read()
			if got != tc.want || ok != tc.ok {
				t.Fatalf("read() = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestOOMKillDuringRunIsReported(t *testing.T) {
	root := t.TempDir()
	events := filepath.Join(root, "memory.events")
	writeFile(t, events, "oom_kill 1\n")
	c := newOOMCounter(root, "0::/\n")
	before, _ := c.read()
	writeFile(t, events, "oom_kill 2\n") // the kernel killed something in our cgroup
	after, _ := c.read()
	o := outcome{started: true, status: 9, oomKill: after > before} // 9: killed by SIGKILL
	if got := o.reason(); got != contract.ReasonOOMKilled {
		t.Fatalf("reason %q, want %q", got, contract.ReasonOOMKilled)
	}
}
