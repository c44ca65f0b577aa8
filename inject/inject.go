// Package inject is jobcheck's pod mutation: given a pod, what is known of the
// Job and CronJob that own it, what its images run, and the defaults, it
// returns the pod with the jobcheck agent injected, and the JSON patch that
// makes it. It does no I/O: the admission webhook and the offline
// `jobcheck-webhook inject` command share it; looking images up in their
// registry is the caller's (package imageconfig).
package inject

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/jobcheck/jobcheck/contract"
)

// Owner is what is known of the workload that owns a pod. Empty fields are unknown.
type Owner struct {
	JobName            string
	JobAnnotations     map[string]string
	CronJobName        string
	CronJobUID         types.UID // for Events on the CronJob: kubectl describe finds them by uid
	CronJobAnnotations map[string]string
	Schedule           string // the CronJob's spec.schedule
	TimeZone           string // the CronJob's spec.timeZone
}

// Config holds the defaults that annotations override (the webhook's flags).
// Start from Defaults: a zero MaxAge, Heartbeat or Version, or InitResources
// with nil Requests and Limits, takes the package default (non-nil empty
// lists mean no requests or limits); Liveness is taken as given.
type Config struct {
	AgentImage string
	// AgentPullPolicy is the installer's imagePullPolicy ("": the kubelet's default).
	AgentPullPolicy corev1.PullPolicy
	// AgentPullSecrets are the names of Secrets the pod needs to pull the agent
	// image from a private registry; each is added to the pod's
	// imagePullSecrets unless the pod already names it.
	AgentPullSecrets []string
	Pushgateway      string
	MaxAge           time.Duration
	Heartbeat        string // contract.HeartbeatProgress or contract.HeartbeatFile
	Grace            time.Duration
	Liveness         bool
	InitResources    corev1.ResourceRequirements
	Version          string // written into the jobcheck.io/injected marker and contract.EnvInjected

	// Report is who reports the runs (docs/model.md): "" or
	// contract.ReportRun, the agent alone; contract.ReportAttempt when the
	// webhook's run watcher does, and the agent reports its attempts only.
	Report string
}

// Result is the outcome of Pod. When Injected is false, Pod is the input
// unchanged and Reason says why (a short machine-friendly word such as
// "not-enabled", "already-injected", "bad-annotation").
type Result struct {
	Pod      *corev1.Pod
	Injected bool
	Reason   string
	Warnings []string

	// Skipped lists the containers that would have been wrapped but were
	// not, in pod order: the pod is then partially injected (Reason
	// ReasonPartial), or not at all when none could be wrapped. Each also
	// has its message among Warnings.
	Skipped []Skip
}

// Skip is a container left unwrapped, and why.
type Skip struct {
	Container string
	Reason    string // ReasonNoCommand, ReasonImageLookup or ReasonMountConflict
	Message   string // one line naming the container, the cause and the fix
}

// The reasons of a Result (usable as a metric label) and of a Skip.
const (
	ReasonInjected        = "injected"
	ReasonPartial         = "partially-injected" // injected, some containers skipped (Result.Skipped)
	ReasonNotEnabled      = "not-enabled"
	ReasonAlreadyInjected = "already-injected"
	ReasonBadAnnotation   = "bad-annotation"
	ReasonConflict        = "conflict"   // the pod already uses one of jobcheck's names, or runs Windows
	ReasonBadConfig       = "bad-config" // Config has no agent image

	// A container without command whose image's command is not known: no
	// entry in Images, or an image that runs nothing.
	ReasonNoCommand = "no-command"
	// A container without command whose image could not be read (Image.Err).
	ReasonImageLookup = "image-lookup"
	// A container that already mounts something at contract.MountPath.
	ReasonMountConflict = "mount-conflict"
)

// Pod injects the jobcheck agent into a copy of pod. images holds what the
// images of pod's containers without command run (see NeedsImages); nil
// when nobody looked them up. It never modifies its inputs.
func Pod(pod *corev1.Pod, owner Owner, images Images, cfg Config) Result {
	s, cfg, res, ok := prepare(pod, owner, cfg)
	if !ok {
		return res
	}
	skip := func(reason string, warnings ...string) Result {
		return Result{Pod: pod, Reason: reason, Warnings: warnings}
	}

	targets, skipped := plan(pod, s, images)
	var warnings []string
	for _, k := range skipped {
		warnings = append(warnings, k.Message)
	}
	if len(targets) == 0 {
		r := skip(skipped[0].Reason, warnings...)
		r.Skipped = skipped
		return r
	}

	out := pod.DeepCopy()
	addVolume(out)
	addInstaller(out, cfg)
	addPullSecrets(out, cfg.AgentPullSecrets)
	several := len(targets) > 1
	for _, t := range targets {
		wrap(&out.Spec.Containers[t.index], t, env(t, several, s, owner, cfg), s)
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	out.Labels[contract.LabelInjected] = "true"
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[contract.AnnotationInjected] = cfg.Version
	if s.pushgateway == "" {
		warnings = append(warnings, fmt.Sprintf("jobcheck: no Pushgateway configured (set %s): runs are monitored by the liveness probe only, no metrics are pushed", contract.AnnotationPushgateway))
	}
	reason := ReasonInjected
	if len(skipped) > 0 {
		reason = ReasonPartial
	}
	return Result{Pod: out, Injected: true, Reason: reason, Warnings: warnings, Skipped: skipped}
}

// NeedsImages lists the images whose command Pod needs: those of the
// containers it would wrap that have no command and no jobcheck.io/command
// override, each once, in pod order. It is nil when the pod will not be
// injected, so a caller looks nothing up for a pod that is left alone.
func NeedsImages(pod *corev1.Pod, owner Owner, cfg Config) []string {
	s, _, _, ok := prepare(pod, owner, cfg)
	if !ok {
		return nil
	}
	var images []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if !s.selected(c.Name) || mountsAgentPath(c) || len(c.Command) > 0 || s.override(c.Name) != nil {
			continue
		}
		if !slices.Contains(images, c.Image) {
			images = append(images, c.Image)
		}
	}
	return images
}

// prepare runs the checks every pod goes through before its containers are
// looked at, and resolves its settings. ok is false when the pod is left
// alone; res then says why.
func prepare(pod *corev1.Pod, owner Owner, cfg Config) (s settings, _ Config, res Result, ok bool) {
	skip := func(reason string, warnings ...string) Result {
		return Result{Pod: pod, Reason: reason, Warnings: warnings}
	}
	if pod == nil {
		return s, cfg, skip(ReasonBadConfig, "jobcheck not injected: no pod"), false
	}
	if _, ok := pod.Annotations[contract.AnnotationInjected]; ok {
		return s, cfg, skip(ReasonAlreadyInjected), false
	}
	srcs := sources(pod, owner)
	on, warning := enabled(srcs)
	if warning != "" {
		return s, cfg, skip(ReasonBadAnnotation, warning), false
	}
	if !on {
		return s, cfg, skip(ReasonNotEnabled), false
	}
	cfg = cfg.withDefaults()
	if cfg.AgentImage == "" {
		return s, cfg, skip(ReasonBadConfig, "jobcheck not injected: the webhook has no agent image configured"), false
	}
	s, warning = resolve(pod, owner, srcs, cfg)
	if warning != "" {
		return s, cfg, skip(ReasonBadAnnotation, warning), false
	}
	if s.job == "" {
		return s, cfg, skip(ReasonBadAnnotation, fmt.Sprintf("jobcheck not injected: no job name known; set %s", contract.AnnotationJobName)), false
	}
	if warning := conflict(pod); warning != "" {
		return s, cfg, skip(ReasonConflict, warning), false
	}
	return s, cfg, Result{}, true
}
