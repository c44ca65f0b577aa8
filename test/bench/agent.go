//go:build bench

package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// runAgent measures figures 5, 6, 7 and the output half of figure 9: the
// wrapper's start-to-exit time against bare `true` and against the shell
// wrapper (push-wrapper.sh), the probe against a shell probe, and the
// wrapper's memory while its child runs and writes output.
func runAgent(args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	bin := fs.String("bin", "bin/jobcheck", "the static agent binary")
	hello := fs.String("hello", "", "an empty static Go program, the floor of a Go binary's start")
	wrapper := fs.String("wrapper", "test/bench/push-wrapper.sh", "the shell-and-curl peer")
	runs := fs.Int("runs", 100, "hyperfine runs per command and round")
	rounds := fs.Int("rounds", 3, "repeated rounds (the report takes the median)")
	emitFor := fs.Duration("emit-for", 3*time.Second, "how long the child writes output in the memory-growth runs")
	out := fs.String("out", "agent.json", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hello == "" {
		return fmt.Errorf("-hello: the empty Go program is required (hack/bench.sh builds it)")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary (the output child): %w", err)
	}
	dir, err := os.MkdirTemp("", "jobcheck-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	// Two Pushgateways: the agent's and the shell's metrics have different
	// HELP texts, which one Pushgateway would reject as inconsistent.
	pgAgent, err := startPushgateway()
	if err != nil {
		return err
	}
	defer pgAgent.stop()
	pgShell, err := startPushgateway()
	if err != nil {
		return err
	}
	defer pgShell.stop()

	hb := filepath.Join(dir, "hb")
	res := results{}
	for range 10 * *rounds {
		done, perPkg, err := initTrace(*bin)
		if err != nil {
			return err
		}
		res.add("agent/init/done", "ms", done)
		total := 0.0
		for pkg, ms := range perPkg {
			res.add("agent/init/pkg/"+pkg, "ms", ms)
			total += ms
		}
		res.add("agent/init/total", "ms", total)
	}
	warm := max(5, *runs/10)
	for r := range *rounds {
		ms, err := hyperfine(dir, warm, *runs,
			"/bin/true",
			*hello,
			fmt.Sprintf("%s run --sentinel %s -- /bin/true", *bin, hb),
			fmt.Sprintf("%s run --sentinel %s --pushgateway %s --job bench --namespace bench -- /bin/true", *bin, hb, pgAgent.URL),
			fmt.Sprintf("/bin/sh %s %s bench bench /bin/true", *wrapper, pgShell.URL))
		if err != nil {
			return err
		}
		res.add("agent/exec/true", "ms", ms[0])
		res.add("agent/exec/hello", "ms", ms[1])
		res.add("agent/exec/run", "ms", ms[2])
		res.add("agent/exec/run-pg", "ms", ms[3])
		res.add("agent/exec/shell-pg", "ms", ms[4])
		res.add("agent/exec/added", "ms", ms[2]-ms[0])
		for _, pg := range []*pushgateway{pgAgent, pgShell} {
			if err := pg.requireSuccess("bench"); err != nil {
				return err
			}
		}
		log.Info("start-to-exit", "round", r, "true", ms[0], "hello", ms[1], "run", ms[2], "run-pg", ms[3], "shell-pg", ms[4])

		if err := os.WriteFile(hb, nil, 0o644); err != nil { // fresh for the probes
			return fmt.Errorf("touch sentinel: %w", err)
		}
		ms, err = hyperfine(dir, warm, *runs,
			"/bin/true",
			fmt.Sprintf("%s probe --sentinel %s --max-age 1h", *bin, hb),
			fmt.Sprintf(`/bin/sh -c 'test -n "$(find %s -mmin -60)"'`, hb))
		if err != nil {
			return err
		}
		res.add("agent/probe/true", "ms", ms[0])
		res.add("agent/probe/jobcheck", "ms", ms[1])
		res.add("agent/probe/shell", "ms", ms[2])
		log.Info("probe", "round", r, "true", ms[0], "jobcheck", ms[1], "shell", ms[2])

		m, err := wrapperMemory(*bin, hb, pgAgent.URL, []string{"/bin/sleep", "1"})
		if err != nil {
			return err
		}
		res.add("agent/rss/sleep/vmrss", "KiB", float64(m.RSS))
		res.add("agent/rss/sleep/vmhwm", "KiB", float64(m.HWM))
		log.Info("wrapper memory", "round", r, "VmRSS KiB", m.RSS, "VmHWM KiB", m.HWM)

		for _, rate := range []int{0, 1, 50} {
			m, err := wrapperMemory(*bin, hb, pgAgent.URL,
				[]string{self, "emit", "-rate", fmt.Sprint(rate << 20), "-for", emitFor.String()})
			if err != nil {
				return err
			}
			key := fmt.Sprintf("agent/output/%dMBps/", rate)
			res.add(key+"vmrss", "KiB", float64(m.RSS))
			res.add(key+"vmhwm", "KiB", float64(m.HWM))
			res.add(key+"achieved", "MB/s", m.MBps)
			log.Info("wrapper memory under output", "round", r, "MB/s", rate, "achieved", m.MBps, "VmRSS KiB", m.RSS, "VmHWM KiB", m.HWM)
		}
	}
	return res.write(*out)
}
