package inject

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/jobcheck/jobcheck/contract"
)

// Defaults returns the Config used when neither an annotation nor a flag says
// otherwise. AgentImage is left empty: the caller knows its own image.
//
// The max age and grace are contract's defaults; the init container's
// requests and limits are small but both set, so a namespace whose
// ResourceQuota covers limits accepts the pod.
func Defaults() Config {
	return Config{
		MaxAge:    contract.DefaultMaxAge,
		Heartbeat: contract.HeartbeatProgress,
		Grace:     contract.DefaultGrace,
		Liveness:  true,
		InitResources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("10m"),
				corev1.ResourceMemory: resource.MustParse("16Mi"),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
		},
		Version: "dev",
	}
}

// withDefaults fills the zero fields of c that have a package default.
func (c Config) withDefaults() Config {
	hasResources := c.InitResources.Requests != nil || c.InitResources.Limits != nil
	if c.MaxAge > 0 && c.Heartbeat != "" && c.Grace >= 0 && hasResources && c.Version != "" {
		return c // the usual case: built from Defaults and flags
	}
	d := Defaults()
	if c.MaxAge <= 0 {
		c.MaxAge = d.MaxAge
	}
	if c.Heartbeat == "" {
		c.Heartbeat = d.Heartbeat
	}
	if c.Grace < 0 {
		c.Grace = d.Grace
	}
	if !hasResources {
		c.InitResources = d.InitResources
	}
	if c.Version == "" {
		c.Version = d.Version
	}
	return c
}

// Validate reports the first value of c that Pod cannot use, named as the
// webhook flag that sets it, so a webhook refuses to start with a bad flag
// instead of skipping every pod.
func (c Config) Validate() error {
	var s settings
	switch {
	case c.AgentImage == "":
		return errors.New("agent-image: must not be empty")
	case c.Pushgateway != "" && parsePushgateway(&s, c.Pushgateway, nil) != "":
		return fmt.Errorf("pushgateway %q: %s", c.Pushgateway, parsePushgateway(&s, c.Pushgateway, nil))
	case c.MaxAge <= 0:
		return fmt.Errorf("max-age %s: must be more than zero", c.MaxAge)
	case checkMaxAge(c.MaxAge) != "":
		return fmt.Errorf("max-age %s: %s", c.MaxAge, checkMaxAge(c.MaxAge))
	case c.Heartbeat != contract.HeartbeatProgress && c.Heartbeat != contract.HeartbeatFile:
		return fmt.Errorf("heartbeat %q: want %q or %q", c.Heartbeat, contract.HeartbeatProgress, contract.HeartbeatFile)
	case c.Grace < 0:
		return fmt.Errorf("grace %s: must not be negative", c.Grace)
	case c.Report != "" && c.Report != contract.ReportRun && c.Report != contract.ReportAttempt:
		return fmt.Errorf("report %q: want %q or %q", c.Report, contract.ReportRun, contract.ReportAttempt)
	case c.AgentPullPolicy != "" && c.AgentPullPolicy != corev1.PullAlways && c.AgentPullPolicy != corev1.PullIfNotPresent && c.AgentPullPolicy != corev1.PullNever:
		return fmt.Errorf("agent-image-pull-policy %q: want Always, IfNotPresent or Never", c.AgentPullPolicy)
	}
	for _, n := range c.AgentPullSecrets {
		if n == "" {
			return errors.New("agent-image-pull-secrets: an empty name")
		}
	}
	for name, req := range c.InitResources.Requests {
		if lim, ok := c.InitResources.Limits[name]; ok && req.Cmp(lim) > 0 {
			return fmt.Errorf("init-%s-request %s: above init-%s-limit %s", name, req.String(), name, lim.String())
		}
	}
	return nil
}
