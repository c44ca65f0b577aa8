//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// dashboardQueries is hack/dashboard/queries.json: every PromQL query of the
// Grafana dashboard, what must have happened for it to return series, and the
// variables' label_values queries (docs/dashboard.md).
type dashboardQueries struct {
	Variables map[string]string `json:"variables"`
	Queries   []struct {
		Panel   string `json:"panel"`
		RefID   string `json:"refId"`
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
		Needs   string `json:"needs"`
	} `json:"queries"`
	LabelValues []struct {
		Variable string `json:"variable"`
		Match    string `json:"match"`
		Label    string `json:"label"`
	} `json:"labelValues"`
}

// Issue 10. Once jobs of every kind the dashboard's queries need have run (a CronJob
// with a successful and a failed run, and a Job that opted in with a bad annotation),
// every query of the dashboard, run on the real Prometheus that scrapes the real
// Pushgateway and webhook, returns series for those jobs, with the values they
// must have; its variables list their namespace and workloads.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(env.Root, "hack", "dashboard", "queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	var q dashboardQueries
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatalf("hack/dashboard/queries.json: %v", err)
	}
	if len(q.Queries) == 0 {
		t.Fatal("hack/dashboard/queries.json holds no query")
	}
	p := prometheus(t)

	ns := namespace(t, "dashboard", true, nil)
	const cron, skipped = "dash-cron", "dash-skipped"
	cj := createCronJob(t, cronJob(ns, cron, "*/30 * * * *", map[string]string{annEnabled: "true"},
		podSpec("sh", "-c", "echo exporting; exit 2"), 0))
	ok := runCronJob(t, cj, cron+"-ok", func(j *batchv1.Job) {
		j.Spec.Template.Spec.Containers[0].Command = []string{"sh", "-c", "echo exported"}
	})
	waitJob(t, ok, batchv1.JobComplete)
	// The failed run after the successful one, once the success is reported.
	group(t, cron, ns, "the successful run", func(g *cluster.Group) bool {
		_, ok := g.Value(MetricLastSuccess, nil)
		return ok
	})
	waitJob(t, runCronJob(t, cj, cron+"-failed", nil), batchv1.JobFailed)
	bad := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: skipped, Namespace: ns,
			Annotations: map[string]string{annEnabled: "true", "jobcheck.io/heartbeat": "sometimes"}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec("true")},
	})
	waitJob(t, bad, batchv1.JobComplete)

	// What each query must return, by what it needs: the workload (or, for the
	// admissions, the result) of a series, and the value where the test knows it.
	type want struct {
		labels map[string]string
		value  *float64
	}
	one := 1.0
	run := want{labels: map[string]string{LabelNamespace: ns, LabelJob: cron}}
	wants := map[string]want{
		"a run finished":                            run,
		"a run succeeded":                           run,
		"a run started":                             run,
		"a CronJob run (a schedule)":                run,
		"a run failed":                              {labels: map[string]string{LabelNamespace: ns, LabelJob: cron, LabelReason: "BackoffLimitExceeded"}, value: &one},
		"an attempt ended other than succeeded":     {labels: map[string]string{LabelNamespace: ns, LabelJob: cron, LabelReason: ReasonFailed}, value: &one},
		"the webhook answered an admission request": {labels: map[string]string{LabelResult: "skipped", LabelReason: "bad-annotation"}},
		"the webhook admitted a pod that opted in without monitoring it": {labels: map[string]string{LabelNamespace: ns, LabelJob: skipped, LabelReason: "bad-annotation"}, value: &one},
	}
	// Columns whose labels or value the test knows too.
	labels := map[string]map[string]string{"Workloads/A": {LabelResult: ResultFailed, LabelReason: "BackoffLimitExceeded"}}
	values := map[string]float64{"Workloads/D": 0, "Workloads/E": 0, "Workloads/G": 1, "Runs in progress/A": 0}
	vars := map[string]string{}
	maps.Copy(vars, q.Variables)
	vars["namespace"] = regexp.QuoteMeta(ns)

	for _, query := range q.Queries {
		name := query.Panel + "/" + query.RefID
		t.Run(name, func(t *testing.T) {
			w, ok := wants[query.Needs]
			if !ok {
				t.Fatalf("query needs %q: this test runs no job for it; add one", query.Needs)
			}
			if v, ok := values[name]; ok {
				w.value = &v
			}
			if l, ok := labels[name]; ok {
				w.labels = maps.Clone(w.labels)
				maps.Copy(w.labels, l)
			}
			expr := substitute(query.Expr, vars)
			var last []cluster.QuerySample
			err := cluster.Poll(ctxFor(t), name+" to return "+fmt.Sprint(w.labels), limit, func() (bool, error) {
				var err error
				if last, err = p.Query(ctxFor(t), expr); err != nil {
					return false, err // a query that does not parse fails at once
				}
				for _, s := range last {
					if matches(s.Labels, w.labels) && (w.value == nil || s.Value == *w.value) {
						return true, nil
					}
				}
				return false, nil
			})
			if err != nil {
				value := "any value"
				if w.value != nil {
					value = fmt.Sprint(*w.value)
				}
				t.Fatalf("%v (%s) with %s\nquery: %s\nlast result: %+v", err, query.Needs, value, expr, last)
			}
			for _, s := range last {
				if job, ok := s.Labels[LabelJob]; ok && s.Labels[LabelNamespace] == ns && job != cron && job != skipped {
					t.Errorf("a series of a workload the test did not run: %v", s.Labels)
				}
			}
		})
	}

	t.Run("variables", func(t *testing.T) {
		want := map[string][]string{"namespace": {ns}, "job": {cron, skipped}}
		for _, lv := range q.LabelValues {
			got, err := p.LabelValues(ctxFor(t), lv.Label, substitute(lv.Match, vars))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want[lv.Variable] {
				if !slices.Contains(got, w) {
					t.Errorf("variable %s (label_values(%s, %s)): %q, want %s among them", lv.Variable, lv.Match, lv.Label, got, w)
				}
			}
		}
	})
}

// substitute replaces each $name of expr by vars[name], the longest name first
// (docs/dashboard.md), so that $__interval does not eat $__interval_ms's prefix.
func substitute(expr string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		expr = strings.ReplaceAll(expr, "$"+n, vars[n])
	}
	return expr
}
