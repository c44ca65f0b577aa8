package main

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/runs"
	"github.com/jobcheck/jobcheck/workloads"
)

func parseRunFlags(t *testing.T, args ...string) *runFlags {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := addRunFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRunFlagsCheck(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" valid
	}{
		{nil, ""},
		{[]string{"--run-watcher=false", "--leader-elect-lease-duration=1s"}, ""},
		{[]string{"--leader-elect-lease-duration=10s"}, "--leader-elect-lease-duration 10s: want more than --leader-elect-renew-deadline 10s"},
		{[]string{"--leader-elect-renew-deadline=2s"}, "--leader-elect-renew-deadline 2s: want more than 1.2 times --leader-elect-retry-period 2s"},
		{[]string{"--leader-elect-retry-period=0s"}, "--leader-elect-retry-period 0s: want a positive duration"},
		{[]string{"--run-watcher-resync=-1m"}, "--run-watcher-resync -1m0s: want zero (never) or more"},
		{[]string{"--leader-elect-resource-name="}, "--leader-elect-resource-name: want a name"},
	} {
		err := parseRunFlags(t, c.args...).check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
}

func TestRunFlagsConfig(t *testing.T) {
	saved := serviceAccountNamespace
	defer func() { serviceAccountNamespace = saved }()
	serviceAccountNamespace = filepath.Join(t.TempDir(), "namespace")

	cfg := parseRunFlags(t).config("http://pushgateway.monitoring:9091")
	if cfg.LeaseNamespace != defaultLeaseNamespace || cfg.LeaseName != runs.DefaultLeaseName || cfg.LeaseDuration != 15*time.Second ||
		cfg.RenewDeadline != 10*time.Second || cfg.RetryPeriod != 2*time.Second || cfg.Resync != 5*time.Minute {
		t.Errorf("defaults outside a cluster: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("default configuration invalid: %v", err)
	}
	if err := os.WriteFile(serviceAccountNamespace, []byte("ops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := parseRunFlags(t).config("http://pushgateway.monitoring:9091"), parseRunFlags(t).config("http://pushgateway.monitoring:9091")
	if a.LeaseNamespace != "ops" {
		t.Errorf("lease namespace %q, want the service account's", a.LeaseNamespace)
	}
	host, _ := os.Hostname()
	if !strings.HasPrefix(a.Identity, host+"_") || a.Identity == b.Identity {
		t.Errorf("identities %q and %q: want the host name and a suffix of their own", a.Identity, b.Identity)
	}
	if got := parseRunFlags(t, "--leader-elect-resource-namespace=batch-ops").config("http://pushgateway.monitoring:9091").LeaseNamespace; got != "batch-ops" {
		t.Errorf("the flag did not win: %q", got)
	}
}

func TestRunWatcherConstruction(t *testing.T) {
	client := kubefake.NewClientset()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if w, err := parseRunFlags(t, "--run-watcher=false").watcher(client, workloads.New(client, 0), "http://pushgateway.monitoring:9091", prometheus.NewRegistry(), log); w != nil || err != nil {
		t.Fatalf("disabled: %v, %v", w, err)
	}
	reg := prometheus.NewRegistry()
	w, err := parseRunFlags(t).watcher(client, workloads.New(client, 0), "http://pushgateway.monitoring:9091", reg, log)
	if err != nil || w == nil {
		t.Fatalf("enabled: %v, %v", w, err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		found = found || f.GetName() == contract.MetricRunwatchLeader
	}
	if !found {
		t.Error("jobcheck_runwatch_leader not registered")
	}
	// A second watcher on the same registry is refused, not a panic.
	if _, err := parseRunFlags(t).watcher(client, workloads.New(client, 0), "http://pushgateway.monitoring:9091", reg, log); err == nil {
		t.Error("two watchers registered their metrics on one registry")
	}
}
