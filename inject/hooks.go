package inject

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Probe timing. The agent's probe only stats a file, but on a loaded node an
// exec can take seconds to start: a 5s timeout and three failures in a row
// keep a slow node from restarting a healthy job. The period follows the max
// age (a quarter of it, between 10s and 60s), so a hung job is restarted at
// most about max age + 3 periods after its last sign of life.
const (
	probeTimeout      = 5
	probeFailures     = 3
	probeInitialDelay = 10
	probeMinPeriod    = 10 * time.Second
	probeMaxPeriod    = 60 * time.Second
)

// probe is the exec liveness probe running `jobcheck probe`, which reads
// JOBCHECK_SENTINEL and JOBCHECK_MAX_AGE from the container's env.
func probe(s settings) *corev1.Probe {
	period := min(max(s.maxAge/4, probeMinPeriod), probeMaxPeriod)
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{agentPath, "probe"}},
		},
		InitialDelaySeconds: probeInitialDelay,
		TimeoutSeconds:      probeTimeout,
		PeriodSeconds:       int32(period / time.Second),
		SuccessThreshold:    1,
		FailureThreshold:    probeFailures,
	}
}

// preStop is the hook running `jobcheck prestop`, which records and reports
// that the pod is being terminated.
func preStop() *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{agentPath, "prestop"}},
	}
}
