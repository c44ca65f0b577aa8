package manifests

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// webhookDeployment returns the shipped webhook Deployment.
func webhookDeployment(t *testing.T, objs objects) appsv1.Deployment {
	t.Helper()
	var dep appsv1.Deployment
	objs.decode(t, "Deployment", "jobcheck-system", "jobcheck-webhook", &dep)
	return dep
}

// webhookContainer returns the Deployment's one container.
func webhookContainer(t *testing.T, dep appsv1.Deployment) corev1.Container {
	t.Helper()
	if n := len(dep.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("webhook Deployment has %d containers, want 1", n)
	}
	return dep.Spec.Template.Spec.Containers[0]
}

// TestDeploymentIsHardened checks the webhook pods run as a numeric non-root
// user on a read-only root filesystem with no capabilities, and that Pod
// Security Admission's own "restricted" checks (k8s.io/pod-security-admission),
// which the jobcheck-system namespace enforces, admit them.
func TestDeploymentIsHardened(t *testing.T) {
	for _, f := range installs {
		t.Run(f, func(t *testing.T) { deploymentIsHardened(t, load(t, f)) })
	}
}

func deploymentIsHardened(t *testing.T, objs objects) {
	dep := webhookDeployment(t, objs)
	c := webhookContainer(t, dep)
	pod := dep.Spec.Template.Spec

	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas = %s, want 2", show(dep.Spec.Replicas))
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Error("pod securityContext.runAsUser is not a non-root UID")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("container securityContext.readOnlyRootFilesystem is not true")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container securityContext.allowPrivilegeEscalation is not false")
	}
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Error("container capabilities do not drop ALL and add none")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("container has no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("container has no %s limit", r)
		}
	}

	var ns corev1.Namespace
	objs.decode(t, "Namespace", "", "jobcheck-system", &ns)
	if got := ns.Labels[psaapi.EnforceLevelLabel]; got != string(psaapi.LevelRestricted) {
		t.Errorf("namespace jobcheck-system label %s = %q, want restricted", psaapi.EnforceLevelLabel, got)
	}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatalf("pod security evaluator: %v", err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	for _, r := range eval.EvaluatePod(lv, &dep.Spec.Template.ObjectMeta, &pod) {
		if !r.Allowed {
			t.Errorf("Pod Security restricted forbids the webhook pod: %s: %s", r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
}

// TestDeploymentServesWhatTheWebhookExpects checks the wiring users never see
// but depend on: the probes hit /readyz and /healthz on the metrics port; the
// certificate flags name what the same file ships (the Secret and webhook
// configuration the webhook keeps, or the Secret cert-manager writes, mounted
// where the flags read it); the agent image the webhook injects has the
// webhook's own tag; the Go runtime is given the memory limit.
func TestDeploymentServesWhatTheWebhookExpects(t *testing.T) {
	for _, f := range installs {
		t.Run(f, func(t *testing.T) {
			objs := load(t, f)
			dep := webhookDeployment(t, objs)
			c := webhookContainer(t, dep)
			flags := probesAndFlags(t, c)
			_, wh := shippedWebhook(t, objs)
			host := wh.ClientConfig.Service.Name + "." + wh.ClientConfig.Service.Namespace + ".svc"

			if f == installCertManager {
				mount := ""
				for _, m := range c.VolumeMounts {
					for _, v := range dep.Spec.Template.Spec.Volumes {
						if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == "jobcheck-webhook-tls" {
							mount = m.MountPath
						}
					}
				}
				if mount == "" {
					t.Fatal("Secret jobcheck-webhook-tls is not mounted in the webhook container")
				}
				if flags["--tls-cert-file"] != mount+"/tls.crt" || flags["--tls-key-file"] != mount+"/tls.key" {
					t.Errorf("--tls-cert-file=%s --tls-key-file=%s, want the Secret's tls.crt and tls.key under %s",
						flags["--tls-cert-file"], flags["--tls-key-file"], mount)
				}
			} else {
				ns, name, _ := strings.Cut(flags["--cert-secret"], "/")
				if ns != dep.Namespace || name == "" {
					t.Errorf("--cert-secret=%s: want a Secret in the webhook's namespace %s", flags["--cert-secret"], dep.Namespace)
				}
				objs.decode(t, "Secret", ns, name, new(corev1.Secret))
				if flags["--cert-webhook-configuration"] != "jobcheck" {
					t.Errorf("--cert-webhook-configuration=%s, want the shipped configuration jobcheck", flags["--cert-webhook-configuration"])
				}
				if names := strings.Split(flags["--cert-dns-names"], ","); names[0] != host {
					t.Errorf("--cert-dns-names=%s: want %s, the name the API server dials, first", flags["--cert-dns-names"], host)
				}
			}
			if flags["--pushgateway"] == "" {
				t.Error("no --pushgateway flag")
			}

			// --agent-image=$(AGENT_IMAGE), the agent at the webhook's own tag.
			agent := ""
			var memory *corev1.EnvVar
			for _, e := range c.Env {
				switch e.Name {
				case "AGENT_IMAGE":
					agent = e.Value
				case "JOBCHECK_MEMORY_LIMIT":
					memory = &e
				case "GOMEMLIMIT":
					t.Error("GOMEMLIMIT is set: equal to the limit, it leaves the runtime no headroom; the webhook sets 90%")
				}
			}
			if flags["--agent-image"] != "$(AGENT_IMAGE)" {
				t.Errorf("--agent-image=%s, want $(AGENT_IMAGE)", flags["--agent-image"])
			}
			_, webhookTag, _ := strings.Cut(c.Image, ":")
			_, agentTag, _ := strings.Cut(agent, ":")
			if webhookTag == "" || agentTag != webhookTag {
				t.Errorf("image %s injects agent image %q, want the agent at tag %s", c.Image, agent, webhookTag)
			}
			if memory == nil || memory.ValueFrom == nil || memory.ValueFrom.ResourceFieldRef == nil ||
				memory.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
				t.Errorf("JOBCHECK_MEMORY_LIMIT = %+v, want the container's limits.memory", memory)
			}
		})
	}
}

// probesAndFlags checks the probes and returns the serve flags by name.
func probesAndFlags(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["webhook"] != 8443 || ports["metrics"] != 8080 {
		t.Errorf("container ports = %v, want webhook 8443 and metrics 8080", ports)
	}
	for _, tc := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
		if tc.probe == nil || tc.probe.HTTPGet == nil {
			t.Errorf("%s is not an httpGet probe", tc.what)
			continue
		}
		port := tc.probe.HTTPGet.Port
		if port.Type == intstr.String {
			port = intstr.FromInt32(ports[port.StrVal])
		}
		if tc.probe.HTTPGet.Path != tc.path || port.IntVal != 8080 {
			t.Errorf("%s = %s on port %v, want %s on 8080", tc.what, tc.probe.HTTPGet.Path, tc.probe.HTTPGet.Port.String(), tc.path)
		}
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args = %v, want serve first", c.Args)
	}
	flags := map[string]string{}
	for _, a := range c.Args[1:] {
		name, value, _ := strings.Cut(a, "=")
		flags[name] = value
	}
	return flags
}

// TestDisruptionBudgetKeepsOneWebhook checks that a drain can never take both
// webhook replicas at once, and never blocks forever.
func TestDisruptionBudgetKeepsOneWebhook(t *testing.T) {
	objs := load(t, install)
	dep := webhookDeployment(t, objs)
	var pdb policyv1.PodDisruptionBudget
	objs.decode(t, "PodDisruptionBudget", "jobcheck-system", "jobcheck-webhook", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("minAvailable = %v, want 1", pdb.Spec.MinAvailable)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas <= 1 {
		t.Errorf("replicas = %s: a minAvailable of 1 would block every drain", show(dep.Spec.Replicas))
	}
	if pdb.Spec.Selector == nil {
		t.Fatal("PodDisruptionBudget has no selector")
	}
	sel := labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels)
	if len(pdb.Spec.Selector.MatchLabels) == 0 || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("PodDisruptionBudget selector %v does not select the webhook pods %v", pdb.Spec.Selector, dep.Spec.Template.Labels)
	}
}
