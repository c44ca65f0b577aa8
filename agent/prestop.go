package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// prestopBudget bounds the preStop push: the kubelet waits for the hook before
// it sends SIGTERM, so the hook must be quick.
const prestopBudget = 2 * time.Second

// Prestop leaves the termination marker next to the sentinel, where the
// wrapper finds it when its child exits, then pushes
// jobcheck_last_run_info{reason="terminated"} so the termination is visible
// even if the wrapper is killed before its own exit push. The wrapper's exit
// push replaces that reason with the final one. Errors are logged only: a
// preStop hook must never fail the pod's shutdown.
func Prestop(cfg Config, log *slog.Logger, now time.Time) {
	if cfg.Sentinel == "" {
		log.Warn("prestop: no sentinel configured, no marker left")
	} else if err := os.WriteFile(markerPath(cfg.Sentinel), []byte(now.UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		log.Warn("prestop: cannot leave the termination marker", "err", fmt.Errorf("write marker: %w", err))
	}
	rep := newReporter(cfg, log)
	if rep == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(prestopBudget, cfg.PushBudget))
	defer cancel()
	rep.add(ctx, "prestop", []prometheus.Collector{runInfo(reasonTerminated)})
}
