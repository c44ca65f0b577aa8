package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jobcheck/jobcheck/agent/textlog"
	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// Prestop is the preStop hook: Kubernetes is stopping the container. It
// leaves the marker next to the sentinel, where the wrapper finds it, and
// pushes the attempt's reason (hung when the sentinel is already older than
// the max age: the liveness probe's kill runs this hook too; else
// terminated), so that the end is visible even if the wrapper is killed
// before its own exit push, which replaces it. It never fails: problems
// are logged, bounded by contract.PrestopBudget.
func Prestop(cfg Config, log *textlog.Logger, now time.Time) {
	reason := contract.ReasonTerminated
	if cfg.Sentinel == "" {
		log.Warn("prestop: no sentinel configured, no marker left")
	} else {
		if m := mtime(cfg.Sentinel); !m.IsZero() && now.Sub(m) > cfg.MaxAge {
			reason = contract.ReasonHung
		}
		if err := os.WriteFile(contract.MarkerPath(cfg.Sentinel), []byte(now.UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
			log.Warn("prestop: cannot leave the termination marker", "err", fmt.Errorf("write marker: %w", err))
		}
	}
	p := newPusher(cfg, log)
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(contract.PrestopBudget, cfg.PushBudget))
	defer cancel()
	p.add(ctx, "prestop", []pushgateway.Sample{attemptInfo(reason, "")})
}

// markerTime is when `jobcheck prestop` left the marker: the time it wrote
// in it, else the file's mtime. It reports false when there is no marker.
func markerTime(sentinel string) (time.Time, bool) {
	path := contract.MarkerPath(sentinel)
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, string(trimNL(b))); err == nil {
		return t, true
	}
	if m := mtime(path); !m.IsZero() {
		return m, true
	}
	return time.Time{}, false
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
