package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/jobcheck/jobcheck/runs"
	"github.com/jobcheck/jobcheck/workloads"
)

// serviceAccountNamespace is where a pod finds its own namespace.
var serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// defaultLeaseNamespace is the Lease's namespace outside a cluster.
const defaultLeaseNamespace = "jobcheck-system"

// runFlags are the run watcher's flags (docs/runs.md). The names of the
// Lease's flags are kube-controller-manager's.
type runFlags struct {
	enabled                                   bool
	leaseNamespace, leaseName                 string
	leaseDuration, renewDeadline, retryPeriod time.Duration
	resync                                    time.Duration
	pushgateways                              string
}

// addRunFlags registers the run watcher's flags on fs.
func addRunFlags(fs *flag.FlagSet) *runFlags {
	f := &runFlags{}
	fs.BoolVar(&f.enabled, "run-watcher", true, "report runs from the Job objects, and the attempts the agent cannot, on the replica holding the Lease (pods injected with JOBCHECK_REPORT=attempt)")
	fs.StringVar(&f.leaseNamespace, "leader-elect-resource-namespace", "", "namespace of the run watcher's Lease (default: the webhook's own, from its service account; "+defaultLeaseNamespace+" outside a cluster)")
	fs.StringVar(&f.leaseName, "leader-elect-resource-name", runs.DefaultLeaseName, "name of the run watcher's Lease")
	fs.DurationVar(&f.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long after the leader's last renewal another replica may take the Lease: the longest gap in reporting when a leader dies")
	fs.DurationVar(&f.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew before it stops reporting; less than the lease duration")
	fs.DurationVar(&f.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often replicas try to take or renew the Lease")
	fs.StringVar(&f.pushgateways, "run-watcher-pushgateways", "", "comma list of the Pushgateways (scheme://host:port) the run watcher may read and push to besides --pushgateway, for workloads whose jobcheck.io/pushgateway names another; \"*\": any (the webhook's pod then sends requests wherever a Job's author says)")
	fs.DurationVar(&f.resync, "run-watcher-resync", 5*time.Minute, "how often every workload's run metrics are pushed again unchanged (a Pushgateway restarted without persistence gets them back); 0: never")
	return f
}

// check validates the flags; its error is a usage error (exit 2).
func (f *runFlags) check() error {
	if !f.enabled {
		return nil
	}
	for name, d := range map[string]time.Duration{"leader-elect-lease-duration": f.leaseDuration,
		"leader-elect-renew-deadline": f.renewDeadline, "leader-elect-retry-period": f.retryPeriod} {
		if d <= 0 {
			return fmt.Errorf("--%s %v: want a positive duration", name, d)
		}
	}
	switch {
	case f.leaseDuration <= f.renewDeadline:
		return fmt.Errorf("--leader-elect-lease-duration %v: want more than --leader-elect-renew-deadline %v", f.leaseDuration, f.renewDeadline)
	case float64(f.renewDeadline) <= leaderelection.JitterFactor*float64(f.retryPeriod):
		return fmt.Errorf("--leader-elect-renew-deadline %v: want more than %v times --leader-elect-retry-period %v", f.renewDeadline, leaderelection.JitterFactor, f.retryPeriod)
	case f.resync < 0:
		return fmt.Errorf("--run-watcher-resync %v: want zero (never) or more", f.resync)
	case f.leaseName == "":
		return fmt.Errorf("--leader-elect-resource-name: want a name")
	}
	return nil
}

// config is the watcher's configuration: the Lease's namespace resolved,
// this replica's identity its host (pod) name and a random suffix, so that
// a restarted pod is a new holder.
func (f *runFlags) config(defaultPushgateway string) runs.Config {
	ns := f.leaseNamespace
	if ns == "" {
		ns = defaultLeaseNamespace
		if b, err := os.ReadFile(serviceAccountNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
			ns = strings.TrimSpace(string(b))
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "jobcheck-webhook"
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return runs.Config{
		LeaseNamespace: ns, LeaseName: f.leaseName, Identity: host + "_" + hex.EncodeToString(suffix),
		LeaseDuration: f.leaseDuration, RenewDeadline: f.renewDeadline, RetryPeriod: f.retryPeriod,
		Resync: f.resync, DefaultPushgateway: defaultPushgateway, Pushgateways: list(f.pushgateways),
	}
}

// watcher builds the run watcher on the shared cache, before the cache
// starts; nil when --run-watcher=false. serve then runs it until it stops:
//
//	go w.Run(ctx) // returns after releasing the Lease once ctx ends
func (f *runFlags) watcher(client kubernetes.Interface, cache *workloads.Cache, defaultPushgateway string, reg prometheus.Registerer, log *slog.Logger) (*runs.Watcher, error) {
	if !f.enabled {
		return nil, nil
	}
	cfg := f.config(defaultPushgateway)
	w, err := runs.New(cfg, client, cache, reg, log.With("component", "run-watcher"))
	if err != nil {
		return nil, err
	}
	log.Info("run watcher", "lease", cfg.LeaseNamespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
	return w, nil
}
