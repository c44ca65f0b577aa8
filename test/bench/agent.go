//go:build bench

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// floors are the Go programs of test/bench/floors, built as the agent is.
type floors struct{ empty, tls, forkexec string }

// runAgent measures the agent's figures: the probe and `jobcheck run --
// true` against their floors and peers (hyperfine), what each stage of the
// start costs before main (GODEBUG=inittrace), one push from a warm
// process, the wrapper's memory against its child's output rate, and its
// peak against a Pushgateway holding many groups.
func runAgent(args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	bin := fs.String("bin", "", "the static agent binary (required)")
	var fl floors
	fs.StringVar(&fl.empty, "empty", "", "floors/empty, built as the agent (required)")
	fs.StringVar(&fl.tls, "tls", "", "floors/tls, built as the agent (required)")
	fs.StringVar(&fl.forkexec, "forkexec", "", "floors/forkexec, built as the agent (required)")
	runs := fs.Int("runs", 100, "hyperfine runs per command and round")
	rounds := fs.Int("rounds", 3, "repeated rounds (the report takes the median)")
	emitFor := fs.Duration("emit-for", 3*time.Second, "how long the child writes output in the memory runs")
	groups := fs.Int("groups", 10000, "groups of the full Pushgateway of the read-back runs")
	out := fs.String("out", "agent.json", "results file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for name, p := range map[string]string{"-bin": *bin, "-empty": fl.empty, "-tls": fl.tls, "-forkexec": fl.forkexec} {
		if p == "" {
			return usageError{fmt.Errorf("%s is required (hack/bench.sh builds it)", name)}
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
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
	wrapper, err := writePushWrapper(dir)
	if err != nil {
		return err
	}
	// The agent's processes get this environment and nothing else: no
	// JOBCHECK_* of the person running the benchmark.
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C"}

	// The agent's metrics and the shell's (no HELP texts) would clash in one
	// Pushgateway: each gets its own. The read-back runs get an empty one and
	// a full one.
	pgs := map[string]*pushgatewaytest.Server{}
	for _, name := range []string{"agent", "shell", "empty", "full"} {
		var flags []string
		if name == "full" {
			flags = []string{"--push.disable-consistency-check"} // filled faster; reads are the same
		}
		pg, err := pushgatewaytest.Start(dir, flags...)
		if err != nil {
			return err
		}
		defer pg.Stop()
		pgs[name] = pg
	}

	res := results{}
	for range 10 * *rounds {
		done, perPkg, err := initTrace(*bin, env)
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

	hb := filepath.Join(dir, "hb")
	pg := pgs["agent"].URL
	warm := max(5, *runs/10)
	for r := range *rounds {
		ms, err := hyperfine(dir, env, warm, *runs,
			"/bin/true", fl.empty, fl.tls, fl.forkexec+" /bin/true",
			fmt.Sprintf("%s run --sentinel %s -- /bin/true", *bin, hb),
			fmt.Sprintf("%s run --sentinel %s --pushgateway %s --job bench-run --namespace bench -- /bin/true", *bin, hb, pg),
			fmt.Sprintf("%s run --sentinel %s --pushgateway %s --job bench-attempt --namespace bench --report %s -- /bin/true", *bin, hb, pg, contract.ReportAttempt),
			fmt.Sprintf("/bin/sh %s %s bench-shell bench /bin/true", wrapper, pgs["shell"].URL))
		if err != nil {
			return err
		}
		for i, k := range []string{"true", "empty", "tls", "forkexec", "run", "run-pg", "attempt-pg", "shell-pg"} {
			res.add("agent/exec/"+k, "ms", ms[i])
			if i > 0 {
				res.add("agent/exec/added/"+k, "ms", ms[i]-ms[0]) // paired within the round
			}
		}
		if err := requirePushes(pgs, "bench-run", "bench-attempt", "bench-shell"); err != nil {
			return err
		}
		log.Info("start-to-exit", "round", r, "ms", ms)

		if err := os.WriteFile(hb, nil, 0o644); err != nil { // fresh for the probes
			return fmt.Errorf("touch sentinel: %w", err)
		}
		ms, err = hyperfine(dir, env, warm, *runs,
			"/bin/true", fl.empty, fl.tls,
			fmt.Sprintf("%s probe --sentinel %s --max-age 1h", *bin, hb),
			fmt.Sprintf(`/bin/sh -c 'test -n "$(find %s -mmin -60)"'`, hb))
		if err != nil {
			return err
		}
		for i, k := range []string{"true", "empty", "tls", "jobcheck", "shell"} {
			res.add("agent/probe/"+k, "ms", ms[i])
		}
		res.add("agent/probe/ratio/empty", "x", ms[3]/ms[1])
		res.add("agent/probe/ratio/tls", "x", ms[3]/ms[2])
		res.add("agent/probe/ratio/shell", "x", ms[3]/ms[4])
		log.Info("probe", "round", r, "ms", ms)

		if err := wrapperRound(res, *bin, self, env, hb, pg, *emitFor, fl); err != nil {
			return err
		}
	}
	if err := pushCost(res, pg, 50**rounds); err != nil {
		return err
	}
	if err := readBack(res, *bin, env, hb, pgs["empty"], pgs["full"], *groups, max(2, *rounds+2), log); err != nil {
		return err
	}
	return res.write(*out)
}

// requirePushes checks that the runs measured pushed what their mode says:
// a wrapper whose pushes failed would look faster than one whose pushes
// landed.
func requirePushes(pgs map[string]*pushgatewaytest.Server, run, attempt, shell string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	succeeded := map[string]string{contract.LabelReason: contract.ReasonSucceeded}
	for _, c := range []struct {
		pg, job     string
		has, hasNot []string
	}{
		{"agent", run, []string{contract.MetricLastSuccess, contract.MetricLastAttemptInfo}, nil},
		{"agent", attempt, []string{contract.MetricLastAttemptInfo}, []string{contract.MetricRunning, contract.MetricLastSuccess}},
		{"shell", shell, []string{contract.MetricLastSuccess, contract.MetricLastAttemptInfo}, nil},
	} {
		g, err := pgs[c.pg].Group(ctx, map[string]string{contract.LabelJob: c.job, contract.LabelNamespace: "bench"})
		if err != nil {
			return err
		}
		if g == nil {
			return fmt.Errorf("pushgateway %s: no group for job %s: its pushes did not land", pgs[c.pg].URL, c.job)
		}
		if v, ok := g.Value(contract.MetricLastAttemptInfo, succeeded); !ok || v != 1 {
			return fmt.Errorf("job %s: no %s{reason=%q}: its exit push did not land", c.job, contract.MetricLastAttemptInfo, contract.ReasonSucceeded)
		}
		for _, m := range c.has {
			if _, ok := g.Metrics[m]; !ok {
				return fmt.Errorf("job %s: no %s", c.job, m)
			}
		}
		for _, m := range c.hasNot {
			if _, ok := g.Metrics[m]; ok {
				return fmt.Errorf("job %s: %s pushed, not in its report mode", c.job, m)
			}
		}
	}
	return nil
}

// outputRates are the child's output rates of the wrapper-memory runs, in
// MB/s; -1: as fast as it can.
var outputRates = []int{0, 1, 50, -1}

func rateKey(rate int) string {
	if rate < 0 {
		return "max"
	}
	return fmt.Sprintf("%dMBps", rate)
}

// wrapperRound measures the wrapper's own memory (run mode, pushing, a
// heartbeat check every 1.25s) around a child writing at each rate, and the
// peaks of the floors.
func wrapperRound(res results, bin, self string, env []string, hb, pg string, emitFor time.Duration, fl floors) error {
	flags := []string{"--sentinel", hb, "--pushgateway", pg, "--job", "bench-memory", "--namespace", "bench", "--max-age", contract.MinMaxAge.String()}
	for _, rate := range outputRates {
		u, err := wrapperMemory(bin, flags, env, []string{self, "emit", "-rate", fmt.Sprint(rate * 1e6), "-for", emitFor.String()})
		if err != nil {
			return err
		}
		key := "agent/mem/output/" + rateKey(rate) + "/"
		res.add(key+"vmhwm", "KiB", float64(u.HWM))
		res.add(key+"vmrss", "KiB", float64(u.SampledRSS))
		res.add(key+"achieved", "MB/s", u.MBps)
	}
	for name, argv := range map[string][]string{"empty": {fl.empty}, "forkexec": {fl.forkexec, "/bin/true"}} {
		p, err := measurePeak(argv, env, nil, os.Stderr)
		if err != nil {
			return err
		}
		res.add("agent/mem/floor/"+name+"/vmhwm", "KiB", float64(p.HWM))
	}
	return nil
}

// pushCost times n pushes of an attempt's metrics from this warm process,
// each on a connection of its own as the agent makes them: what a push costs
// without any process start.
func pushCost(res results, url string, n int) error {
	c, err := pushgateway.New(url, nil, contract.Help)
	if err != nil {
		return err
	}
	now := float64(time.Now().Unix())
	samples := []pushgateway.Sample{
		{Name: contract.MetricLastAttemptInfo, Labels: [][2]string{{contract.LabelReason, contract.ReasonSucceeded}, {contract.LabelDetail, ""}}, Value: 1},
		{Name: contract.MetricLastAttemptExitCode}, {Name: contract.MetricLastAttemptEnd, Value: now},
		{Name: contract.MetricLastAttemptDuration, Value: 0.001}, {Name: contract.MetricMaxAge, Value: 1800},
	}
	grouping := contract.Grouping("bench-push", "bench", "", "")
	var ms []float64
	for i := range n + 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t := time.Now()
		err := c.Add(ctx, grouping, samples)
		d := time.Since(t)
		cancel()
		if err != nil {
			return fmt.Errorf("push: %w", err)
		}
		if i >= 5 { // warm-up
			ms = append(ms, float64(d)/float64(time.Millisecond))
		}
	}
	slices.Sort(ms)
	res.add("agent/push/one", "ms", ms[len(ms)/2])
	return nil
}

// readBack measures the wrapper's peak in run mode against an empty
// Pushgateway and one holding groups workloads' groups: a failed run reads
// the previous failure count back from /metrics, a successful one does not.
// Each failed run must have found its count (it goes 0 -> 1 every round).
func readBack(res results, bin string, env []string, hb string, empty, full *pushgatewaytest.Server, groups, rounds int, log *slog.Logger) error {
	start := time.Now()
	if err := fillGroups(full.URL, groups); err != nil {
		return err
	}
	size, err := metricsBytes(full.URL)
	if err != nil {
		return err
	}
	res.add("agent/readback/full/groups", "groups", float64(groups))
	res.add("agent/readback/full/bytes", "bytes", float64(size))
	log.Info("filled the Pushgateway", "groups", groups, "metrics bytes", size, "took", time.Since(start).Round(time.Millisecond))
	const job = "bench-readback"
	for r := range rounds {
		for name, pg := range map[string]*pushgatewaytest.Server{"empty": empty, "full": full} {
			for _, cmd := range []string{"false", "true"} {
				argv := []string{bin, "run", "--sentinel", hb, "--pushgateway", pg.URL, "--job", job, "--namespace", "bench", "--", "/bin/" + cmd}
				p, err := measurePeak(argv, env, nil, os.Stderr)
				if err != nil {
					return err
				}
				if want := map[string]int{"false": 1, "true": 0}[cmd]; p.Code != want {
					return fmt.Errorf("%v: exit code %d, want %d", argv, p.Code, want)
				}
				n, err := failureCount(pg, job, "bench")
				if err != nil {
					return err
				}
				if want := map[string]float64{"false": 1, "true": 0}[cmd]; n != want {
					return fmt.Errorf("%s Pushgateway, round %d, after `%s`: %s = %v, want %v: the failure count was not read back",
						name, r, cmd, contract.MetricConsecutiveFailures, n, want)
				}
				res.add("agent/readback/"+name+"/"+cmd+"/vmhwm", "KiB", float64(p.HWM))
			}
		}
	}
	return nil
}
