//go:build bench

package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/jobcheck/jobcheck/contract"
)

// pushWrapperTmpl is the sh + curl peer of `jobcheck run`, with the metric
// and label names left to fill from package contract.
//
//go:embed push-wrapper.sh.tmpl
var pushWrapperTmpl string

// writePushWrapper renders the sh + curl peer into dir and returns its path.
func writePushWrapper(dir string) (string, error) {
	t, err := template.New("push-wrapper.sh").Option("missingkey=error").Parse(pushWrapperTmpl)
	if err != nil {
		return "", fmt.Errorf("push-wrapper template: %w", err)
	}
	names := map[string]string{
		"Running": contract.MetricRunning, "LastStart": contract.MetricLastStart, "MaxAge": contract.MetricMaxAge,
		"LastCompletion": contract.MetricLastCompletion, "LastDuration": contract.MetricLastDuration,
		"LastRunInfo": contract.MetricLastRunInfo, "LastSuccess": contract.MetricLastSuccess,
		"LastSuccessStart": contract.MetricLastSuccessStart, "LastFailure": contract.MetricLastFailure,
		"LastFailureInfo": contract.MetricLastFailureInfo, "ConsecutiveFailures": contract.MetricConsecutiveFailures,
		"LastAttemptInfo": contract.MetricLastAttemptInfo, "LastAttemptExitCode": contract.MetricLastAttemptExitCode,
		"LastAttemptEnd": contract.MetricLastAttemptEnd, "LastAttemptDuration": contract.MetricLastAttemptDuration,
		"Job": contract.LabelJob, "Namespace": contract.LabelNamespace, "Result": contract.LabelResult,
		"Reason": contract.LabelReason, "Detail": contract.LabelDetail, "FailedIndexes": contract.LabelFailedIndexes,
		"ResultSucceeded": contract.ResultSucceeded, "ResultFailed": contract.ResultFailed,
		"Succeeded": contract.ReasonSucceeded, "Failed": contract.ReasonFailed, "Signaled": contract.ReasonSignaled,
	}
	var b bytes.Buffer
	if err := t.Execute(&b, names); err != nil {
		return "", fmt.Errorf("push-wrapper template: %w", err)
	}
	path := filepath.Join(dir, "push-wrapper.sh")
	if err := os.WriteFile(path, b.Bytes(), 0o755); err != nil {
		return "", fmt.Errorf("write push-wrapper.sh: %w", err)
	}
	return path, nil
}
