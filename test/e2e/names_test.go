package e2e

import (
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The names the scenarios assert, as package contract defines them. This
// module cannot import contract: requiring the main module (even through a
// replace) raises shared dependencies above the versions k8s.io/kubernetes
// v1.36.3 pins for the binaries built from this module. So they are copied
// here, once, and TestNamesMatchContract fails when one differs from
// contract's (it runs without a cluster: go test -run TestNamesMatchContract ./).
const (
	MetricRunning             = "jobcheck_running"
	MetricLastStart           = "jobcheck_last_start_timestamp_seconds"
	MetricLastCompletion      = "jobcheck_last_completion_timestamp_seconds"
	MetricLastDuration        = "jobcheck_last_duration_seconds"
	MetricLastRunInfo         = "jobcheck_last_run_info"
	MetricLastSuccess         = "jobcheck_last_success_timestamp_seconds"
	MetricLastSuccessStart    = "jobcheck_last_success_start_timestamp_seconds"
	MetricLastFailure         = "jobcheck_last_failure_timestamp_seconds"
	MetricLastFailureInfo     = "jobcheck_last_failure_info"
	MetricConsecutiveFailures = "jobcheck_consecutive_failures"
	MetricNextRunDeadline     = "jobcheck_next_run_deadline_timestamp_seconds"
	MetricSuspended           = "jobcheck_suspended"
	MetricLastAttemptInfo     = "jobcheck_last_attempt_info"
	MetricLastAttemptExitCode = "jobcheck_last_attempt_exit_code"
	MetricLastAttemptEnd      = "jobcheck_last_attempt_end_timestamp_seconds"
	MetricLastAttemptDuration = "jobcheck_last_attempt_duration_seconds"
	MetricLastHung            = "jobcheck_last_hung_timestamp_seconds"
	MetricMaxAge              = "jobcheck_max_age_seconds"

	MetricWebhookAdmissions      = "jobcheck_webhook_admissions_total"
	MetricWebhookUnmonitoredPods = "jobcheck_webhook_unmonitored_pods_total"

	LabelJob           = "job"
	LabelNamespace     = "namespace"
	LabelContainer     = "container"
	LabelIndex         = "index"
	LabelResult        = "result"
	LabelReason        = "reason"
	LabelDetail        = "detail"
	LabelFailedIndexes = "failed_indexes"

	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
	ResultStopped   = "stopped"

	ReasonSucceeded  = "succeeded"
	ReasonOOMKilled  = "oom_killed"
	ReasonHung       = "hung"
	ReasonTerminated = "terminated"
	ReasonSignaled   = "signaled"
	ReasonFailed     = "failed"
	ReasonLost       = "lost"
	ReasonNotStarted = "not_started"

	EnvPushgateway = "JOBCHECK_PUSHGATEWAY"
	EnvJob         = "JOBCHECK_JOB"
	EnvContainer   = "JOBCHECK_CONTAINER"
	EnvSentinel    = "JOBCHECK_SENTINEL"
	EnvReport      = "JOBCHECK_REPORT"
	ReportAttempt  = "attempt"

	VolumeName     = "jobcheck"
	MountPath      = "/opt/jobcheck"
	AgentPath      = "/opt/jobcheck/jobcheck"
	ImageAgentPath = "/jobcheck"
	InstallerName  = "jobcheck-install"
	CommandRun     = "run"
	CommandProbe   = "probe"
	CommandPrestop = "prestop"
	CommandInstall = "install"
	LabelInjected  = "jobcheck.io/injected"

	AnnotationCompletionIndex = "batch.kubernetes.io/job-completion-index"

	DefaultMaxAge = 30 * time.Minute
	DefaultGrace  = 5 * time.Minute
)

// The names the webhook serves that contract does not define: the run
// watcher's own metrics (runs/metrics.go), the admission results and the
// owner-lookup reason (webhook/admit.go).
const (
	metricRunwatchLeader = "jobcheck_runwatch_leader"
	metricRunwatchRuns   = "jobcheck_runwatch_runs_total"
	admissionInjected    = "injected"
	admissionError       = "error"
	reasonOwnerLookup    = "owner-lookup"
)

// SentinelPath is contract.SentinelPath: the heartbeat file of a container.
func SentinelPath(container string) string { return MountPath + "/" + container + ".heartbeat" }

func TestNamesMatchContract(t *testing.T) {
	ours := map[string]any{
		"MetricRunning": MetricRunning, "MetricLastStart": MetricLastStart, "MetricLastCompletion": MetricLastCompletion,
		"MetricLastDuration": MetricLastDuration, "MetricLastRunInfo": MetricLastRunInfo, "MetricLastSuccess": MetricLastSuccess,
		"MetricLastSuccessStart": MetricLastSuccessStart, "MetricLastFailure": MetricLastFailure,
		"MetricLastFailureInfo": MetricLastFailureInfo, "MetricConsecutiveFailures": MetricConsecutiveFailures,
		"MetricNextRunDeadline": MetricNextRunDeadline, "MetricSuspended": MetricSuspended,
		"MetricLastAttemptInfo": MetricLastAttemptInfo, "MetricLastAttemptExitCode": MetricLastAttemptExitCode,
		"MetricLastAttemptEnd": MetricLastAttemptEnd, "MetricLastAttemptDuration": MetricLastAttemptDuration,
		"MetricLastHung": MetricLastHung, "MetricMaxAge": MetricMaxAge,
		"MetricWebhookAdmissions": MetricWebhookAdmissions, "MetricWebhookUnmonitoredPods": MetricWebhookUnmonitoredPods,
		"LabelJob": LabelJob, "LabelNamespace": LabelNamespace, "LabelContainer": LabelContainer, "LabelIndex": LabelIndex,
		"LabelResult": LabelResult, "LabelReason": LabelReason, "LabelDetail": LabelDetail, "LabelFailedIndexes": LabelFailedIndexes,
		"ResultSucceeded": ResultSucceeded, "ResultFailed": ResultFailed, "ResultStopped": ResultStopped,
		"ReasonSucceeded": ReasonSucceeded, "ReasonOOMKilled": ReasonOOMKilled, "ReasonHung": ReasonHung,
		"ReasonTerminated": ReasonTerminated, "ReasonSignaled": ReasonSignaled, "ReasonFailed": ReasonFailed,
		"ReasonLost": ReasonLost, "ReasonNotStarted": ReasonNotStarted,
		"EnvPushgateway": EnvPushgateway, "EnvJob": EnvJob, "EnvContainer": EnvContainer, "EnvSentinel": EnvSentinel,
		"EnvReport": EnvReport, "ReportAttempt": ReportAttempt,
		"VolumeName": VolumeName, "MountPath": MountPath, "AgentPath": AgentPath, "ImageAgentPath": ImageAgentPath,
		"InstallerName": InstallerName, "CommandRun": CommandRun, "CommandProbe": CommandProbe,
		"CommandPrestop": CommandPrestop, "CommandInstall": CommandInstall, "LabelInjected": LabelInjected,
		"AnnotationCompletionIndex": AnnotationCompletionIndex, "DefaultMaxAge": int64(DefaultMaxAge), "DefaultGrace": int64(DefaultGrace),
	}
	pkg := contractPackage(t)
	for name, want := range ours {
		obj, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok {
			t.Errorf("contract has no constant %s", name)
			continue
		}
		var got any
		switch obj.Val().Kind() {
		case constant.String:
			got = constant.StringVal(obj.Val())
		case constant.Int:
			got, _ = constant.Int64Val(obj.Val())
		}
		if got != want {
			t.Errorf("contract.%s = %#v, the e2e copy says %#v: update test/e2e/names_test.go", name, got, want)
		}
	}
	if got := SentinelPath("main"); got != MountPath+"/main.heartbeat" {
		t.Errorf("SentinelPath(main) = %q", got)
	}
}

// contractPackage type-checks ../../contract (without its tests).
func contractPackage(t *testing.T) *types.Package {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "..", "contract", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no contract sources in ../../contract: %v", err)
	}
	var parsed []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		parsed = append(parsed, af)
	}
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("contract", fset, parsed, nil)
	if err != nil {
		t.Fatalf("type-check contract: %v", err)
	}
	return pkg
}
