package contract

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The hung alert's window is derived from the agent's repush period: a rule
// that drifted from it would either miss hung attempts between repushes or
// keep firing long after they ended.
func TestHungAlertWindowIsTheRules(t *testing.T) {
	b, err := os.ReadFile("../manifests/prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "JobcheckJobHung" {
				expr = r.Expr
			}
		}
	}
	m := regexp.MustCompile(MetricLastHung + `\)\s*<\s*(\d+)`).FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("JobcheckJobHung expr %q: no `%s) < SECONDS`", expr, MetricLastHung)
	}
	got, _ := strconv.Atoi(m[1])
	if time.Duration(got)*time.Second != HungAlertWindow {
		t.Errorf("JobcheckJobHung window %ds, want contract.HungAlertWindow %v", got, HungAlertWindow)
	}
	if HungAlertWindow <= HungRepushPeriod {
		t.Errorf("HungAlertWindow %v must exceed the repush period %v, or the alert flaps between repushes", HungAlertWindow, HungRepushPeriod)
	}
}

func TestTimingFormulas(t *testing.T) {
	for _, c := range []struct {
		maxAge               time.Duration
		refresh, probe, kill time.Duration
	}{
		{5 * time.Second, 1250 * time.Millisecond, 10 * time.Second, 5*time.Second + 1250*time.Millisecond + 30*time.Second + 5*time.Second},
		{30 * time.Minute, 7*time.Minute + 30*time.Second, time.Minute, 30*time.Minute + 7*time.Minute + 30*time.Second + 3*time.Minute + 5*time.Second},
		{time.Second, time.Second, 10 * time.Second, time.Second + time.Second + 30*time.Second + 5*time.Second},
	} {
		if got := RefreshPeriod(c.maxAge); got != c.refresh {
			t.Errorf("RefreshPeriod(%v) = %v, want %v", c.maxAge, got, c.refresh)
		}
		if got := ProbePeriod(c.maxAge); got != c.probe {
			t.Errorf("ProbePeriod(%v) = %v, want %v", c.maxAge, got, c.probe)
		}
		if got := KillBound(c.maxAge); got != c.kill {
			t.Errorf("KillBound(%v) = %v, want %v", c.maxAge, got, c.kill)
		}
	}
	// At the minimum max age, the refresh period leaves room: a live
	// attempt's sentinel is never older than a quarter of the max age.
	if RefreshPeriod(MinMaxAge) > MinMaxAge/4+time.Millisecond*250 {
		t.Errorf("RefreshPeriod(MinMaxAge) = %v: too close to MinMaxAge %v", RefreshPeriod(MinMaxAge), MinMaxAge)
	}
}

func TestGroupingAndNames(t *testing.T) {
	g := Grouping("nightly", "team", "", "3")
	if len(g) != 3 || g[0] != [2]string{"job", "nightly"} || g[2] != [2]string{"index", "3"} {
		t.Errorf("Grouping = %v", g)
	}
	if g := Grouping("x", "", "c", ""); len(g) != 2 || g[1][0] != LabelContainer {
		t.Errorf("Grouping without namespace = %v", g)
	}
	for _, c := range []struct{ name, gen, want string }{
		{"export-28012345", "", "export-28012345"},
		{"export-abcde", "export-", "export"},
		{"", "batch--", "batch"},
	} {
		if got := WorkloadName(c.name, c.gen); got != c.want {
			t.Errorf("WorkloadName(%q, %q) = %q, want %q", c.name, c.gen, got, c.want)
		}
	}
	for _, m := range []string{MetricRunning, MetricLastStart, MetricLastCompletion, MetricLastDuration, MetricLastRunInfo,
		MetricLastSuccess, MetricLastSuccessStart, MetricLastFailure, MetricLastFailureInfo, MetricConsecutiveFailures,
		MetricNextRunDeadline, MetricSuspended, MetricLastAttemptInfo, MetricLastAttemptExitCode, MetricLastAttemptEnd,
		MetricLastAttemptDuration, MetricLastHung, MetricMaxAge} {
		if Help(m) == "" {
			t.Errorf("metric %s has no help text", m)
		}
	}
	if SentinelPath("main") != "/opt/jobcheck/main.heartbeat" || MarkerPath("/x/s") != "/x/s.terminating" {
		t.Errorf("paths: %s %s", SentinelPath("main"), MarkerPath("/x/s"))
	}
}

func TestSelectEntrypoint(t *testing.T) {
	m := map[string][]string{
		"linux/amd64":    {"/amd"},
		"linux/arm/v7":   {"/armv7"},
		"linux/arm/v6":   {"/armv6"},
		"linux/arm64/v8": {"/arm64"},
	}
	for _, c := range []struct {
		arch, variant string
		want          string
		ok            bool
	}{
		{"amd64", "", "/amd", true},
		{"arm", "v7", "/armv7", true},
		{"arm64", "", "/arm64", true}, // the only arm64 entry, with a variant
		{"arm", "", "", false},        // two arm variants, none named
		{"s390x", "", "", false},
	} {
		argv, ok := SelectEntrypoint(m, "linux", c.arch, c.variant)
		got := ""
		if len(argv) > 0 {
			got = argv[0]
		}
		if ok != c.ok || got != c.want {
			t.Errorf("SelectEntrypoint(%s/%s) = %q, %v; want %q, %v", c.arch, c.variant, got, ok, c.want, c.ok)
		}
	}
}

// Every jobcheck metric the alert rules query is one of contract's: a rule
// on a misspelt or renamed metric would never fire.
func TestRulesQueryContractMetrics(t *testing.T) {
	known := map[string]bool{}
	for _, m := range []string{MetricRunning, MetricLastStart, MetricLastCompletion, MetricLastDuration, MetricLastRunInfo,
		MetricLastSuccess, MetricLastSuccessStart, MetricLastFailure, MetricLastFailureInfo, MetricConsecutiveFailures,
		MetricNextRunDeadline, MetricSuspended, MetricLastAttemptInfo, MetricLastAttemptExitCode, MetricLastAttemptEnd,
		MetricLastAttemptDuration, MetricLastHung, MetricMaxAge, MetricWebhookAdmissions, MetricWebhookUnmonitoredPods,
		MetricWebhookCertificateExpiry, MetricRunwatchLeader, MetricRunwatchPushes, MetricRunwatchReadBacks} {
		known[m] = true
	}
	b, err := os.ReadFile("../manifests/prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var expr []string
	for _, line := range strings.Split(string(b), "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "summary:") && !strings.HasPrefix(l, "description:") {
			expr = append(expr, l)
		}
	}
	found := regexp.MustCompile(`\bjobcheck_[a-z0-9_]+\b`).FindAllString(strings.Join(expr, "\n"), -1)
	if len(found) == 0 {
		t.Fatal("rules.yaml queries no jobcheck metric")
	}
	for _, m := range found {
		if !known[m] {
			t.Errorf("rules.yaml queries %s, which package contract does not name", m)
		}
	}
}
