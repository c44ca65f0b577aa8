package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jobcheck/jobcheck/contract"
)

// query is one PromQL query of the dashboard, as the dashboard runs it
// (with its variables) and as queries.json exports it for the end-to-end
// tests, which run every one against a real Prometheus.
type query struct {
	Panel   string `json:"panel"`
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`
	Instant bool   `json:"instant,omitempty"`
	// Needs says what must have been reported for the query to return
	// series: a query is only expected to return some when it has.
	Needs string `json:"needs"`
	// column is the table column a table query fills (not exported).
	column string
}

// What a query needs to return series.
const (
	needsStart    = "a run started"
	needsEnd      = "a run finished"
	needsSuccess  = "a run succeeded"
	needsFailure  = "a run failed"
	needsSchedule = "a CronJob run (a schedule)"
	needsAttempt  = "an attempt ended other than succeeded"
	needsAdmitted = "the webhook answered an admission request"
	needsSkipped  = "the webhook admitted a pod that opted in without monitoring it"
)

// Panel titles.
const (
	panelWorkloads   = "Workloads"
	panelDuration    = "Run duration"
	panelFailedRuns  = "Failed runs, by reason"
	panelAttempts    = "Attempts that did not succeed, by reason"
	panelRunning     = "Runs in progress"
	panelAdmissions  = "Admissions, by result and reason"
	panelUnmonitored = "Pods opted in but not monitored (time range)"
)

// Columns of the workloads table other than the labels namespace, job,
// result and reason.
const (
	colEnded       = "last run ended"
	colSinceOK     = "since last success"
	colRunning     = "running"
	colHung        = "hung"
	colDeadline    = "next run due by"
	colConsecutive = "failed runs in a row"
)

// tableQueries fill the workloads table, one instant query per column,
// merged on namespace and job. Timestamps are in milliseconds, as Grafana's
// date units want them.
func tableQueries() []query {
	running := byWorkload("max", selected(contract.MetricRunning))
	hungWindow := strconv.FormatFloat(contract.HungAlertWindow.Seconds(), 'f', -1, 64)
	return []query{
		{RefID: "A", Needs: needsEnd,
			Expr: byWorkload("max", selected(contract.MetricLastRunInfo), contract.LabelResult, contract.LabelReason)},
		{RefID: "B", Needs: needsEnd, column: colEnded,
			Expr: byWorkload("max", selected(contract.MetricLastCompletion)) + " * 1000"},
		{RefID: "C", Needs: needsSuccess, column: colSinceOK,
			Expr: "time() - " + byWorkload("max", selected(contract.MetricLastSuccess))},
		{RefID: "D", Needs: needsStart, column: colRunning, Expr: running},
		// 1 while an attempt was seen hung within the hung alert's window,
		// else 0 for every workload that ever started a run.
		{RefID: "E", Needs: needsStart, column: colHung,
			Expr: byWorkload("max", "time() - "+selected(contract.MetricLastHung)+" < bool "+hungWindow) + " or " + running + " * 0"},
		{RefID: "F", Needs: needsSchedule, column: colDeadline,
			Expr: byWorkload("max", selected(contract.MetricNextRunDeadline)) + " * 1000"},
		{RefID: "G", Needs: needsEnd, column: colConsecutive,
			Expr: byWorkload("max", selected(contract.MetricConsecutiveFailures))},
	}
}

// panelQueries are the queries of the other panels.
func panelQueries() []query {
	return []query{
		{Panel: panelDuration, RefID: "A", Needs: needsEnd,
			Expr: byWorkload("max", selected(contract.MetricLastDuration))},
		{Panel: panelFailedRuns, RefID: "A", Needs: needsFailure,
			Expr: endedByReason(selected(contract.MetricLastFailure), selected(contract.MetricLastFailureInfo),
				contract.LabelReason, contract.LabelFailedIndexes)},
		{Panel: panelAttempts, RefID: "A", Needs: needsAttempt,
			Expr: endedByReason(selected(contract.MetricLastAttemptEnd),
				selected(contract.MetricLastAttemptInfo, fmt.Sprintf(`%s!="%s"`, contract.LabelReason, contract.ReasonSucceeded)),
				contract.LabelReason, contract.LabelDetail)},
		{Panel: panelRunning, RefID: "A", Needs: needsStart,
			Expr: byWorkload("max", selected(contract.MetricRunning))},
		{Panel: panelAdmissions, RefID: "A", Needs: needsAdmitted,
			Expr: fmt.Sprintf("sum by (%s, %s) (rate(%s[$__rate_interval]))", contract.LabelResult, contract.LabelReason, metricAdmissions)},
		// A series born within the range counts whole (increase would miss
		// its first pods); the others by their increase.
		{Panel: panelUnmonitored, RefID: "A", Needs: needsSkipped, Instant: true,
			Expr: byWorkload("sum", fmt.Sprintf("(%[1]s unless %[1]s offset $__range) or increase(%[1]s[$__range])",
				selected(metricUnmonitoredPods)), contract.LabelReason)},
	}
}

// labelValues is a query variable of the dashboard: the values of label
// among the series match selects (Grafana's label_values(match, label)).
type labelValues struct {
	Variable string `json:"variable"`
	Match    string `json:"match"`
	Label    string `json:"label"`
}

// workloadSeries selects a series of every monitored workload (the run
// metrics have jobcheck_running from the first run on) and of every
// workload whose pods were admitted unmonitored.
func workloadSeries(more ...string) string {
	m := append([]string{fmt.Sprintf(`__name__=~"%s|%s"`, contract.MetricRunning, metricUnmonitoredPods)}, more...)
	return "{" + strings.Join(m, ", ") + "}"
}

func variableQueries() []labelValues {
	return []labelValues{
		{Variable: varNamespace, Match: workloadSeries(), Label: contract.LabelNamespace},
		{Variable: varJob, Match: workloadSeries(fmt.Sprintf(`%s=~"$%s"`, contract.LabelNamespace, varNamespace)), Label: contract.LabelJob},
	}
}

// allQueries is every query of the dashboard, the table's first.
func allQueries() []query {
	var out []query
	for _, q := range tableQueries() {
		q.Panel, q.Instant = panelWorkloads, true
		out = append(out, q)
	}
	return append(out, panelQueries()...)
}
