package inject

import (
	corev1 "k8s.io/api/core/v1"
)

// env is the agent's environment for the wrapped container named container
// (internals.md). JOBCHECK_CONTAINER is set only when the pod wraps more than
// one container, since the agent adds it to its grouping key when non-empty;
// the schedule variables only when the owner is a CronJob with a schedule.
func env(container string, several bool, s settings, owner Owner) []corev1.EnvVar {
	vars := make([]corev1.EnvVar, 0, 11)
	add := func(name, value string) {
		vars = append(vars, corev1.EnvVar{Name: name, Value: value})
	}
	field := func(name, path string) {
		vars = append(vars, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path},
		}})
	}
	if s.pushgateway != "" {
		add("JOBCHECK_PUSHGATEWAY", s.pushgateway)
	}
	add("JOBCHECK_JOB", s.job)
	field("JOBCHECK_NAMESPACE", "metadata.namespace")
	field("JOBCHECK_POD", "metadata.name")
	if several {
		add("JOBCHECK_CONTAINER", container)
	}
	add("JOBCHECK_SENTINEL", mountPath+"/"+container+".heartbeat")
	add("JOBCHECK_MAX_AGE", s.maxAge.String())
	add("JOBCHECK_HEARTBEAT", s.heartbeat)
	if owner.Schedule != "" {
		add("JOBCHECK_SCHEDULE", owner.Schedule)
		if owner.TimeZone != "" {
			add("JOBCHECK_TIMEZONE", owner.TimeZone)
		}
		add("JOBCHECK_GRACE", s.grace.String())
	}
	return vars
}
