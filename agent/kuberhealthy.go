package agent

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jobcheck/jobcheck/pushgateway/http1"
)

// khReport is the body of a Kuberhealthy external check report.
type khReport struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
}

// marshal encodes the report as JSON, errors always an array. By hand:
// encoding/json would add 100 KB to every job pod's agent; the tests use it
// as the oracle.
func (r khReport) marshal() []byte {
	b := append([]byte(`{"ok":`), strconv.FormatBool(r.OK)...)
	b = append(b, `,"errors":[`...)
	for i, e := range r.Errors {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e)
	}
	return append(b, "]}"...)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 as U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but not JavaScript
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
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
func (e khEnv) send(ctx context.Context, rep khReport) error {
	if !e.deadline.IsZero() {
		if time.Until(e.deadline) <= 0 {
			return fmt.Errorf("kuberhealthy: run deadline %s already passed", e.deadline.UTC().Format(time.RFC3339))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, e.deadline)
		defer cancel()
	}
	body := rep.marshal()
	req := &http1.Request{Method: "POST", URL: e.url, Body: body,
		Header: [][2]string{{"Content-Type", "application/json"}, {"kh-run-uuid", e.uuid}}}
	var c http1.Client
	return retry(ctx, func(ctx context.Context) error {
		resp, err := c.Do(ctx, req)
		if err != nil {
			return fmt.Errorf("kuberhealthy: report to %s: %w", e.url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("kuberhealthy: report to %s: %s", e.url, resp.Status)
		}
		return nil
	})
}
