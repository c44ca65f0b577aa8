package inject

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// env is the agent's environment for the wrapped container t (docs/inject.md).
// contract.EnvContainer is set only when the pod wraps several containers,
// since the agent adds it to its grouping key when non-empty; the schedule
// variables only when the owner is a CronJob with a schedule; the report
// mode only when it is not the agent's default.
func env(t target, several bool, s settings, owner Owner, cfg Config) []corev1.EnvVar {
	vars := make([]corev1.EnvVar, 0, 14)
	add := func(name, value string) {
		vars = append(vars, corev1.EnvVar{Name: name, Value: value})
	}
	field := func(name, path string) {
		vars = append(vars, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path},
		}})
	}
	if s.pushgateway != "" {
		add(contract.EnvPushgateway, s.pushgateway)
	}
	add(contract.EnvJob, s.job)
	field(contract.EnvNamespace, "metadata.namespace")
	field(contract.EnvPod, "metadata.name")
	if several {
		add(contract.EnvContainer, t.name)
	}
	add(contract.EnvSentinel, contract.SentinelPath(t.name))
	add(contract.EnvMaxAge, s.maxAge.String())
	add(contract.EnvHeartbeat, s.heartbeat)
	if owner.Schedule != "" {
		add(contract.EnvSchedule, owner.Schedule)
		if owner.TimeZone != "" {
			add(contract.EnvTimezone, owner.TimeZone)
		}
		add(contract.EnvGrace, s.grace.String())
	}
	if cfg.Report == contract.ReportAttempt {
		add(contract.EnvReport, cfg.Report)
	}
	add(contract.EnvInjected, cfg.Version)
	if t.entrypoints != "" {
		add(contract.EnvEntrypoints, t.entrypoints)
	}
	return vars
}
