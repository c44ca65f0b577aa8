package main

import (
	"flag"
	"fmt"

	"github.com/jobcheck/jobcheck/inject"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// addConfigFlags registers on fs the flags that set inject's defaults (the
// values annotations override), shared by `serve` and `inject` so both inject
// the same way. The returned function, called after fs.Parse, builds and
// validates the Config; its error names the bad flag.
func addConfigFlags(fs *flag.FlagSet) func() (inject.Config, error) {
	d := inject.Defaults()
	image := fs.String("agent-image", "jobcheck/agent:"+version, "image holding the jobcheck agent at /jobcheck, run by the jobcheck-install init container")
	pullPolicy := fs.String("agent-image-pull-policy", "", "imagePullPolicy of the jobcheck-install init container: Always, IfNotPresent or Never (empty: the kubelet's default)")
	pullSecrets := fs.String("agent-image-pull-secrets", "", "comma list of Secrets (in each job's namespace) to pull the agent image with; added to a pod's imagePullSecrets")
	pushgateway := fs.String("pushgateway", d.Pushgateway, "Pushgateway URL the agent pushes to (annotation jobcheck.io/pushgateway); empty: no push")
	maxAge := fs.Duration("max-age", d.MaxAge, "heartbeat age at which the liveness probe fails (annotation jobcheck.io/max-age)")
	heartbeat := fs.String("heartbeat", d.Heartbeat, `what counts as a sign of life: "progress" or "file" (annotation jobcheck.io/heartbeat)`)
	grace := fs.Duration("grace", d.Grace, "time after a CronJob's next scheduled run before it counts as overdue (annotation jobcheck.io/grace)")
	liveness := fs.Bool("liveness", d.Liveness, "add the liveness probe (annotation jobcheck.io/liveness)")
	quantities := []struct {
		flag  string
		limit bool // else a request
		name  corev1.ResourceName
		val   *string
	}{
		{flag: "init-cpu-request", name: corev1.ResourceCPU},
		{flag: "init-memory-request", name: corev1.ResourceMemory},
		{flag: "init-cpu-limit", limit: true, name: corev1.ResourceCPU},
		{flag: "init-memory-limit", limit: true, name: corev1.ResourceMemory},
	}
	for i := range quantities {
		q := &quantities[i]
		list, kind := d.InitResources.Requests, "request"
		if q.limit {
			list, kind = d.InitResources.Limits, "limit"
		}
		def := list[q.name]
		q.val = fs.String(q.flag, def.String(), fmt.Sprintf("%s %s of the jobcheck-install init container (empty: none)", q.name, kind))
	}

	return func() (inject.Config, error) {
		cfg := inject.Config{
			AgentImage:       *image,
			AgentPullPolicy:  corev1.PullPolicy(*pullPolicy),
			AgentPullSecrets: list(*pullSecrets),
			Pushgateway:      *pushgateway,
			MaxAge:           *maxAge,
			Heartbeat:        *heartbeat,
			Grace:            *grace,
			Liveness:         *liveness,
			Version:          version,
			InitResources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{},
				Limits:   corev1.ResourceList{},
			},
		}
		for _, q := range quantities {
			if *q.val == "" {
				continue
			}
			v, err := resource.ParseQuantity(*q.val)
			if err != nil || v.Sign() <= 0 {
				return inject.Config{}, fmt.Errorf("--%s %q: want a positive Kubernetes quantity such as 100m or 64Mi", q.flag, *q.val)
			}
			if q.limit {
				cfg.InitResources.Limits[q.name] = v
			} else {
				cfg.InitResources.Requests[q.name] = v
			}
		}
		if err := cfg.Validate(); err != nil {
			return inject.Config{}, fmt.Errorf("--%w", err)
		}
		return cfg, nil
	}
}
