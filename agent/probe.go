package agent

import (
	"fmt"
	"os"
	"time"
)

// Probe checks the heartbeat for the liveness probe: nil when the sentinel is
// younger than maxAge, otherwise an error saying how old it is and what the
// limit is. It only stats one file, so it runs in a few milliseconds.
func Probe(sentinel string, maxAge time.Duration, now time.Time) error {
	st, err := os.Stat(sentinel)
	if err != nil {
		return fmt.Errorf("no heartbeat: %w", err)
	}
	if age := now.Sub(st.ModTime()); age > maxAge {
		return fmt.Errorf("heartbeat %s is %s old, limit %s", sentinel, age.Round(time.Millisecond), maxAge)
	}
	return nil
}

// Touch refreshes the sentinel once, creating it when missing: for scripts
// that want to signal life explicitly.
func Touch(sentinel string, now time.Time) error {
	return touchFile(sentinel, now)
}
