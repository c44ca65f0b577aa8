package contract

// Metric names (docs/model.md). Run metrics describe a workload's runs (Job
// objects) and are pushed by the webhook's run watcher, or by the agent in
// ReportRun mode; attempt metrics describe one execution of one container
// and are pushed by the agent, and by the run watcher for the attempts that
// ended without the agent reporting them.
const (
	MetricRunning             = "jobcheck_running"
	MetricLastStart           = "jobcheck_last_start_timestamp_seconds"
	MetricLastCompletion      = "jobcheck_last_completion_timestamp_seconds"
	MetricLastDuration        = "jobcheck_last_duration_seconds"
	MetricLastRunInfo         = "jobcheck_last_run_info" // labels result, reason
	MetricLastSuccess         = "jobcheck_last_success_timestamp_seconds"
	MetricLastSuccessStart    = "jobcheck_last_success_start_timestamp_seconds"
	MetricLastFailure         = "jobcheck_last_failure_timestamp_seconds"
	MetricLastFailureInfo     = "jobcheck_last_failure_info" // labels reason, failed_indexes
	MetricConsecutiveFailures = "jobcheck_consecutive_failures"
	MetricNextRunDeadline     = "jobcheck_next_run_deadline_timestamp_seconds"
	MetricSuspended           = "jobcheck_suspended"

	MetricLastAttemptInfo     = "jobcheck_last_attempt_info" // labels reason, detail
	MetricLastAttemptExitCode = "jobcheck_last_attempt_exit_code"
	MetricLastAttemptEnd      = "jobcheck_last_attempt_end_timestamp_seconds"
	MetricLastAttemptDuration = "jobcheck_last_attempt_duration_seconds"
	MetricLastHung            = "jobcheck_last_hung_timestamp_seconds"
	MetricMaxAge              = "jobcheck_max_age_seconds"
)

// Label names: the grouping key's and the info metrics'.
const (
	LabelJob           = "job"
	LabelNamespace     = "namespace"
	LabelContainer     = "container"
	LabelIndex         = "index"
	LabelResult        = "result"
	LabelReason        = "reason"
	LabelDetail        = "detail"
	LabelFailedIndexes = "failed_indexes"
)

// Run results (MetricLastRunInfo's result label).
const (
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
	// ResultStopped is a run that ended neither way: its Job was deleted
	// before it finished (a CronJob's Replace policy, by hand), or, for the
	// agent alone, its attempt was stopped by Kubernetes (ReasonTerminated).
	ResultStopped = "stopped"
)

// Attempt reasons (MetricLastAttemptInfo's reason label), most specific first.
const (
	ReasonSucceeded = "succeeded" // exit 0
	ReasonOOMKilled = "oom_killed"
	// ReasonHung: killed because its heartbeat went stale (the liveness
	// probe), whatever the process did with the SIGTERM.
	ReasonHung = "hung"
	// ReasonTerminated: stopped by Kubernetes: the pod deleted, evicted or
	// drained, or its Job's controller stopping it. Not a failure of its own.
	ReasonTerminated = "terminated"
	ReasonSignaled   = "signaled" // died of a signal nobody in Kubernetes sent
	ReasonFailed     = "failed"   // any other non-zero exit, or it could not be started
	// ReasonLost: the pod vanished while the container ran (node lost, force
	// deletion); reported by the run watcher.
	ReasonLost = "lost"
	// ReasonNotStarted: the container never ran (image pull, configuration
	// error, failed init container); reported by the run watcher.
	ReasonNotStarted = "not_started"
)

// Grouping is the Pushgateway grouping key of a workload's metrics, job
// first: job and namespace, then container (only when a pod wraps several)
// and index (only for an Indexed Job's pods) when not empty. The run metrics
// of the run watcher use job and namespace only. Never the pod: the
// Pushgateway keeps every group until it is deleted.
func Grouping(job, namespace, container, index string) [][2]string {
	g := [][2]string{{LabelJob, job}}
	if namespace != "" {
		g = append(g, [2]string{LabelNamespace, namespace})
	}
	if container != "" {
		g = append(g, [2]string{LabelContainer, container})
	}
	if index != "" {
		g = append(g, [2]string{LabelIndex, index})
	}
	return g
}

// Help is the HELP text of each metric. Every pusher sends the same text and
// the same type (gauge): the Pushgateway refuses a push whose metric has a
// type or help that differs from the same metric in another group.
func Help(metric string) string {
	switch metric {
	case MetricRunning:
		return "Runs of the workload in progress."
	case MetricLastStart:
		return "When the latest run started."
	case MetricLastCompletion:
		return "When the latest finished run ended, whatever its outcome."
	case MetricLastDuration:
		return "Duration of the latest finished run."
	case MetricLastRunInfo:
		return "Outcome of the latest finished run: result and reason."
	case MetricLastSuccess:
		return "When the latest successful run ended."
	case MetricLastSuccessStart:
		return "When the latest successful run (by start) started: a failure after it is not resolved."
	case MetricLastFailure:
		return "When the latest failed run ended."
	case MetricLastFailureInfo:
		return "Why the latest failed run failed."
	case MetricConsecutiveFailures:
		return "Failed runs since the latest successful one."
	case MetricNextRunDeadline:
		return "Next scheduled run plus grace: the CronJob is overdue after it."
	case MetricSuspended:
		return "1 while the CronJob is suspended."
	case MetricLastAttemptInfo:
		return "Outcome of the latest ended attempt: reason and the kubelet's detail."
	case MetricLastAttemptExitCode:
		return "Exit code of the latest ended attempt (128+N for death by signal N)."
	case MetricLastAttemptEnd:
		return "When the latest attempt ended."
	case MetricLastAttemptDuration:
		return "Duration of the latest ended attempt."
	case MetricLastHung:
		return "Last time an attempt was seen hung: no sign of life for longer than its max age."
	case MetricMaxAge:
		return "Heartbeat age at which an attempt counts as hung."
	}
	return ""
}

// Metrics the webhook serves on its /metrics (not pushed), named here because
// the alert rules and the dashboard query them too.
const (
	MetricWebhookAdmissions        = "jobcheck_webhook_admissions_total"                     // labels result, reason
	MetricWebhookUnmonitoredPods   = "jobcheck_webhook_unmonitored_pods_total"               // labels namespace, job, reason
	MetricWebhookCertificateExpiry = "jobcheck_webhook_certificate_expiry_timestamp_seconds" // the served certificate's notAfter
	MetricRunwatchLeader           = "jobcheck_runwatch_leader"                              // 1 on the replica reporting runs
	MetricRunwatchPushes           = "jobcheck_runwatch_pushes_total"                        // label result: success, error
	MetricRunwatchReadBacks        = "jobcheck_runwatch_readbacks_total"                     // label result: success, error
)
