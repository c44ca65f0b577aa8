package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Probe is the liveness probe: an error, saying how old the sentinel is and
// what the limit is, only when the sentinel is older than maxAge. A missing
// or unreadable sentinel (the wrapper could not create it: heartbeat off)
// passes with a note: configuration must never get a healthy job
// restarted. It only stats one file.
func Probe(sentinel string, maxAge time.Duration, now time.Time) (note string, err error) {
	st, err := os.Stat(sentinel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("no heartbeat file %s (heartbeat off): passing", sentinel), nil
		}
		return fmt.Sprintf("heartbeat file unreadable (%v): passing", err), nil
	}
	if age := now.Sub(st.ModTime()); age > maxAge {
		return "", fmt.Errorf("heartbeat %s is %s old, limit %s", sentinel, age.Round(time.Millisecond), maxAge)
	}
	return "", nil
}

// Touch refreshes the sentinel once, creating it when missing: for scripts
// that want to signal life explicitly.
func Touch(sentinel string, now time.Time) error {
	return touchFile(sentinel, now)
}
