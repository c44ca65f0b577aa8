package inject

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// probe is the exec liveness probe running `jobcheck probe`, which reads
// contract.EnvSentinel and contract.EnvMaxAge from the container's env. Its
// timing is contract's (docs/model.md, "Timing"): the period follows the
// max age, so a hung job is restarted within contract.KillBound of its last
// sign of life.
func probe(s settings) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{contract.AgentPath, contract.CommandProbe}},
		},
		InitialDelaySeconds: seconds(contract.ProbeInitialDelay),
		TimeoutSeconds:      seconds(contract.ProbeTimeout),
		PeriodSeconds:       seconds(contract.ProbePeriod(s.maxAge)),
		SuccessThreshold:    1,
		FailureThreshold:    contract.ProbeFailureThreshold,
	}
}

// seconds is d in whole seconds, as probes count.
func seconds(d time.Duration) int32 { return int32(d / time.Second) }

// preStop is the hook running `jobcheck prestop`, which records and reports
// that the pod is being terminated.
func preStop() *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{contract.AgentPath, contract.CommandPrestop}},
	}
}
