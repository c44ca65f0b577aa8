// Package inject is jobcheck's pod mutation: given a pod, what is known of the
// Job and CronJob that own it, and the defaults, it returns the pod with the
// jobcheck agent injected. It does no I/O: the admission webhook and the
// offline `jobcheck-webhook inject` command share it.
package inject

import (
	"fmt"
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
// Start from Defaults: a zero MaxAge, Heartbeat or Version, or InitResources
// with nil Requests and Limits, takes the package default (non-nil empty
// lists mean no requests or limits); Liveness is taken as given.
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

// The reasons of a Result, usable as a metric label.
const (
	ReasonInjected        = "injected"
	ReasonNotEnabled      = "not-enabled"
	ReasonAlreadyInjected = "already-injected"
	ReasonBadAnnotation   = "bad-annotation"
	ReasonNoCommand       = "no-command" // no container could be wrapped
	ReasonConflict        = "conflict"   // the pod already uses one of jobcheck's names, or runs Windows
	ReasonBadConfig       = "bad-config" // Config has no agent image
)

// Pod injects the jobcheck agent into a copy of pod. It never modifies its input.
func Pod(pod *corev1.Pod, owner Owner, cfg Config) Result {
	skip := func(reason string, warnings ...string) Result {
		return Result{Pod: pod, Reason: reason, Warnings: warnings}
	}
	if pod == nil {
		return skip(ReasonBadConfig, "jobcheck not injected: no pod")
	}
	if _, ok := pod.Annotations[AnnotationInjected]; ok {
		return skip(ReasonAlreadyInjected)
	}
	srcs := sources(pod, owner)
	on, warning := enabled(srcs)
	if warning != "" {
		return skip(ReasonBadAnnotation, warning)
	}
	if !on {
		return skip(ReasonNotEnabled)
	}
	cfg = cfg.withDefaults()
	if cfg.AgentImage == "" {
		return skip(ReasonBadConfig, "jobcheck not injected: the webhook has no agent image configured")
	}
	s, warning := resolve(pod, owner, srcs, cfg)
	if warning != "" {
		return skip(ReasonBadAnnotation, warning)
	}
	if s.job == "" {
		return skip(ReasonBadAnnotation, fmt.Sprintf("jobcheck not injected: no job name known; set %s", AnnotationJobName))
	}
	if warning := conflict(pod); warning != "" {
		return skip(ReasonConflict, warning)
	}

	targets, warnings := plan(pod, s)
	if len(targets) == 0 {
		return skip(ReasonNoCommand, warnings...)
	}

	out := pod.DeepCopy()
	addVolume(out)
	addInstaller(out, cfg)
	for _, t := range targets {
		wrap(&out.Spec.Containers[t.index], t.command, env(t.name, len(targets) > 1, s, owner), s)
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[AnnotationInjected] = cfg.Version
	if s.pushgateway == "" {
		warnings = append(warnings, fmt.Sprintf("jobcheck: no Pushgateway configured (set %s): runs are monitored by the liveness probe only, no metrics are pushed", AnnotationPushgateway))
	}
	return Result{Pod: out, Injected: true, Reason: ReasonInjected, Warnings: warnings}
}
