// Package inject is jobcheck's pod mutation: given a pod, what is known of the
// Job and CronJob that own it, and the defaults, it returns the pod with the
// jobcheck agent injected. It does no I/O: the admission webhook and the
// offline `jobcheck-webhook inject` command share it.
package inject

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Owner is what is known of the workload that owns a pod. Empty fields are unknown.
type Owner struct {
	JobName            string
	JobAnnotations     map[string]string
	CronJobName        string
	CronJobAnnotations map[string]string
	Schedule           string // the CronJob's spec.schedule
	TimeZone           string // the CronJob's spec.timeZone
}

// Config holds the defaults that annotations override (the webhook's flags).
type Config struct {
	AgentImage    string
	Pushgateway   string
	MaxAge        time.Duration
	Heartbeat     string // "progress" or "file"
	Grace         time.Duration
	Liveness      bool
	InitResources corev1.ResourceRequirements
	Version       string // written into the jobcheck.io/injected marker
}

// Result is the outcome of Pod. When Injected is false, Pod is the input
// unchanged and Reason says why (a short machine-friendly word such as
// "not-enabled", "already-injected", "bad-annotation").
type Result struct {
	Pod      *corev1.Pod
	Injected bool
	Reason   string
	Warnings []string
}

// Pod injects the jobcheck agent into a copy of pod. It never modifies its input.
func Pod(pod *corev1.Pod, owner Owner, cfg Config) Result {
	panic("TODO: implemented by the inject work")
}
