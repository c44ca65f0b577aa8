package inject

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
)

// restricted evaluates pod against Pod Security Admission "restricted" at
// the latest version, as the kube-apiserver's PodSecurity admission does, and
// returns the violations ("" when allowed).
func restricted(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatalf("new PSA evaluator: %v", err)
	}
	lv := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	agg := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &pod.ObjectMeta, &pod.Spec))
	if agg.Allowed {
		return ""
	}
	return agg.ForbiddenDetail()
}

// restrictedContainer is a user container that passes "restricted" itself.
func restrictedContainer(name string, command ...string) corev1.Container {
	c := container(name, command...)
	c.SecurityContext = &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	return c
}

// TestPodRestricted: a restricted-compliant job pod stays compliant once
// injected, in each shape injection takes.
func TestPodRestricted(t *testing.T) {
	for name, pod := range map[string]*corev1.Pod{
		"one container":    jobPod("db-migrate", restrictedContainer("migrate", "/migrate")),
		"three containers": jobPod("db-migrate", restrictedContainer("a", "/a"), restrictedContainer("b", "/b"), restrictedContainer("c", "/c")),
		"init containers": func() *corev1.Pod {
			p := jobPod("db-migrate", restrictedContainer("migrate", "/migrate"))
			p.Spec.InitContainers = []corev1.Container{restrictedContainer("fetch", "/fetch")}
			return p
		}(),
		"pod-level securityContext": func() *corev1.Pod {
			c := container("migrate", "/migrate")
			c.SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}
			p := jobPod("db-migrate", c)
			p.Spec.SecurityContext = &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](1000),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}
			return p
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			if v := restricted(t, pod); v != "" {
				t.Fatalf("fixture is not restricted-compliant before injection: %s", v)
			}
			res := Pod(pod, jobOwner(), nil, testConfig())
			if !res.Injected {
				t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
			}
			if v := restricted(t, res.Pod); v != "" {
				t.Errorf("injected pod violates PSA restricted: %s", v)
			}
		})
	}
}

// TestInstallerRestricted: the init container alone passes "restricted", and
// added to a pod that already violates the profile it adds no violation of
// its own, whatever the pod-level securityContext.
func TestInstallerRestricted(t *testing.T) {
	res := Pod(jobPod("db-migrate", container("migrate", "/migrate")), jobOwner(), nil, testConfig())
	if !res.Injected {
		t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
	}
	alone := jobPod("installer-only", res.Pod.Spec.InitContainers[0])
	alone.Spec.Volumes = res.Pod.Spec.Volumes
	if v := restricted(t, alone); v != "" {
		t.Errorf("a pod running only the installer violates PSA restricted: %s", v)
	}

	for name, psc := range map[string]*corev1.PodSecurityContext{
		"no pod securityContext": nil,
		"pod runs as root":       {RunAsUser: ptr.To[int64](0)},
		"pod allows root":        {RunAsNonRoot: ptr.To(false)},
		"pod unconfined seccomp": {SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
	} {
		t.Run(name, func(t *testing.T) {
			pod := jobPod("db-migrate", container("migrate", "/migrate"))
			pod.Spec.SecurityContext = psc
			before := restricted(t, pod)
			if before == "" {
				t.Fatalf("fixture unexpectedly restricted-compliant")
			}
			res := Pod(pod, jobOwner(), nil, testConfig())
			if !res.Injected {
				t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
			}
			if after := restricted(t, res.Pod); after != before {
				t.Errorf("injection changed the violations:\nbefore: %s\nafter:  %s", before, after)
			}
		})
	}
}
