package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// khReport is the body of a Kuberhealthy external check report.
type khReport struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
}

// khEnv is the Kuberhealthy environment of a check pod.
type khEnv struct {
	url      string    // KH_REPORTING_URL; empty: not a Kuberhealthy check
	uuid     string    // KH_RUN_UUID, sent back as the kh-run-uuid header
	deadline time.Time // KH_CHECK_RUN_DEADLINE; zero when unset or malformed
}

func khFromEnv(getenv func(string) string) khEnv {
	e := khEnv{url: getenv("KH_REPORTING_URL"), uuid: getenv("KH_RUN_UUID")}
	if s, err := strconv.ParseInt(getenv("KH_CHECK_RUN_DEADLINE"), 10, 64); err == nil && s > 0 {
		e.deadline = time.Unix(s, 0)
	}
	return e
}

// newKHReport builds the report of a run: ok with no errors for exit 0,
// otherwise the exit code and reason, then the last lines of stderr.
// Kuberhealthy rejects ok:true with errors, so a success never carries any.
func newKHReport(code int, reason string, stderrTail []string) khReport {
	if code == 0 {
		return khReport{OK: true, Errors: []string{}}
	}
	errs := []string{fmt.Sprintf("exit code %d (%s)", code, reason)}
	for _, l := range stderrTail {
		errs = append(errs, "stderr: "+l)
	}
	return khReport{OK: false, Errors: errs}
}

// send posts the report, finishing before the check's run deadline.
func (e khEnv) send(ctx context.Context, client *http.Client, rep khReport) error {
	if !e.deadline.IsZero() {
		if time.Until(e.deadline) <= 0 {
			return fmt.Errorf("kuberhealthy: run deadline %s already passed", e.deadline.UTC().Format(time.RFC3339))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, e.deadline)
		defer cancel()
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("kuberhealthy: encode report: %w", err)
	}
	return retry(ctx, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("kuberhealthy: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("kh-run-uuid", e.uuid)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("kuberhealthy: report to %s: %w", e.url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("kuberhealthy: report to %s: %s", e.url, resp.Status)
		}
		return nil
	})
}
