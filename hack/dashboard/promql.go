package main

import (
	"fmt"
	"strings"

	"github.com/jobcheck/jobcheck/contract"
)

// The metrics the webhook serves on its /metrics.
const (
	metricAdmissions      = contract.MetricWebhookAdmissions      // labels result, reason
	metricUnmonitoredPods = contract.MetricWebhookUnmonitoredPods // labels namespace, job, reason
)

// Dashboard variables, as the queries use them.
const (
	varDatasource = "datasource"
	varNamespace  = "namespace"
	varJob        = "job"
	// varResolution is how finely the failure panels look for a new
	// failure: the step of their subqueries. A constant, so that the
	// queries read the same here, in Grafana and in tests, where it is
	// set to the scrape interval.
	varResolution = "resolution"
)

// selected is metric restricted to the namespaces and jobs chosen in the
// dashboard's variables, with more matchers if any.
func selected(metric string, more ...string) string {
	m := append([]string{
		fmt.Sprintf(`%s=~"$%s"`, contract.LabelNamespace, varNamespace),
		fmt.Sprintf(`%s=~"$%s"`, contract.LabelJob, varJob),
	}, more...)
	return metric + "{" + strings.Join(m, ", ") + "}"
}

// byWorkload aggregates expr to one series per workload (namespace and
// job): a workload whose pods wrap several containers, or an Indexed Job,
// has several attempt groups, and every series from a Pushgateway scrape
// also carries the scrape's own labels.
func byWorkload(agg, expr string, extra ...string) string {
	labels := append([]string{contract.LabelNamespace, contract.LabelJob}, extra...)
	return fmt.Sprintf("%s by (%s) (%s)", agg, strings.Join(labels, ", "), expr)
}

// newValues is 1 for each series of the timestamp gauge ts (a
// selector) that took a new value since one resolution step ago, whether
// it changed or appeared, else 0. The gauges jobcheck pushes keep only the
// latest value; counting how often it changes is counting the runs or
// attempts that ended.
func newValues(ts string) string {
	return fmt.Sprintf("(%[1]s != bool %[1]s offset $%[2]s) or (%[1]s * 0 + 1 unless %[1]s offset $%[2]s)", ts, varResolution)
}

// endedByReason counts, per workload and reason, the values ts took within
// each interval of the panel, labelled with the reason info held at that
// moment (info has one series per group, whose labels other than the
// ignored ones are ts's). The subquery is shifted by 1ms so that a step's
// window holds [t-interval, t): every change falls in exactly one bar.
func endedByReason(ts, info string, ignored ...string) string {
	byReason := fmt.Sprintf("(%s) * ignoring(%s) group_left(%s) %s",
		newValues(ts), strings.Join(ignored, ", "), contract.LabelReason, info)
	return byWorkload("sum",
		fmt.Sprintf("sum_over_time((%s)[$__interval:$%s] offset 1ms)", byReason, varResolution),
		contract.LabelReason)
}
