//go:build bench

package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

// The sh + curl peer must push what `jobcheck run` pushes in run mode, or
// the comparison of their times compares different work: the same metrics
// with the same labels, after a success and after failures (the failure
// count read back and carried on).
func TestPushWrapperPushesWhatRunModePushes(t *testing.T) {
	dir := t.TempDir()
	agent := filepath.Join(dir, "jobcheck")
	if out, err := exec.Command("go", "build", "-o", agent, "../../cmd/jobcheck").CombinedOutput(); err != nil {
		t.Fatalf("build the agent: %v\n%s", err, out)
	}
	wrapper, err := writePushWrapper(dir)
	if err != nil {
		t.Fatal(err)
	}
	pgAgent, err := pushgatewaytest.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pgAgent.Stop()
	pgShell, err := pushgatewaytest.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pgShell.Stop()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir}
	run := func(argv ...string) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if len(out) > 0 {
			t.Logf("%v: %s", argv, out)
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 && code != 1 || (code == 0) != (argv[len(argv)-1] == "/bin/true") {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, cmd := range []string{"/bin/true", "/bin/false", "/bin/false"} {
		run(agent, "run", "--sentinel", filepath.Join(dir, "hb"), "--pushgateway", pgAgent.URL, "--job", "peer", "--namespace", "bench", "--", cmd)
		run("/bin/sh", wrapper, pgShell.URL, "peer", "bench", cmd)
		key := map[string]string{contract.LabelJob: "peer", contract.LabelNamespace: "bench"}
		a, err := pgAgent.Group(ctx, key)
		if err != nil || a == nil {
			t.Fatalf("agent's group: %v", err)
		}
		s, err := pgShell.Group(ctx, key)
		if err != nil || s == nil {
			t.Fatalf("the peer's group: %v", err)
		}
		if got, want := series(s), series(a); !slices.Equal(got, want) {
			t.Errorf("after %s, the peer pushed\n%s\nwant what the agent pushed\n%s", cmd, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, m := range []string{contract.MetricConsecutiveFailures, contract.MetricLastAttemptExitCode, contract.MetricRunning} {
			av, _ := a.Value(m, nil)
			sv, _ := s.Value(m, nil)
			if av != sv {
				t.Errorf("after %s: %s is %v from the peer, %v from the agent", cmd, m, sv, av)
			}
		}
	}
}

// series lists a group's series as "name{label=value,...}", sorted, with
// the values of timestamps and durations left out.
func series(g *pushgatewaytest.Group) []string {
	var out []string
	for name, samples := range g.Metrics {
		if strings.HasPrefix(name, "push_") { // the Pushgateway's own
			continue
		}
		for _, s := range samples {
			var labels []string
			for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
				labels = append(labels, fmt.Sprintf("%s=%q", k, s.Labels[k]))
			}
			out = append(out, name+"{"+strings.Join(labels, ",")+"}")
		}
	}
	slices.Sort(out)
	return out
}

func TestPushWrapperRenders(t *testing.T) {
	path, err := writePushWrapper(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "{{") || !strings.Contains(string(b), contract.MetricLastAttemptInfo+`{`+contract.LabelReason+`=`) {
		t.Errorf("rendered push-wrapper.sh is not filled with contract's names:\n%s", b)
	}
}
