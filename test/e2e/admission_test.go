//go:build e2e

package e2e

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Injection never makes a pod inadmissible: a namespace enforcing Pod
// Security "restricted" and a namespace whose ResourceQuota covers cpu and memory
// both admit and run an injected pod whose own container complies, and both runs
// are reported (the restricted one by the run watcher alone).
func TestRestrictedNamespaces(t *testing.T) {
	t.Parallel()
	cmd := []string{"sh", "-c", "echo compliant"}

	t.Run("Pod Security restricted", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "s6-restricted", true, map[string]string{
			"pod-security.kubernetes.io/enforce":         "restricted",
			"pod-security.kubernetes.io/enforce-version": "latest",
		})
		tmpl := podSpec(cmd...)
		// No host network under "restricted": the pushes fail fast, the job must not care.
		tmpl.Spec.HostNetwork = false
		tmpl.Spec.SecurityContext = &corev1.PodSecurityContext{
			RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65534)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		tmpl.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "strict", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
		})
		done := waitJob(t, job, batchv1.JobComplete)
		if done.Status.Succeeded != 1 {
			t.Errorf("succeeded %d, want 1", done.Status.Succeeded)
		}
		assertInjected(t, jobPods(t, job, 1)[0], "strict", cmd)
		// The agent cannot reach the Pushgateway from this pod, but the run is
		// still reported: the run watcher reads it from the Job object.
		g := group(t, "strict", ns, "the run, reported without the agent",
			runInfo(ResultSucceeded, conditionReason(t, done, batchv1.JobComplete)))
		absent(t, g, MetricLastAttemptInfo)
	})

	t.Run("ResourceQuota on cpu and memory", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "s6-quota", true, nil)
		quota := &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "compute"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
				corev1.ResourceRequestsCPU: resource.MustParse("1"), corev1.ResourceRequestsMemory: resource.MustParse("1Gi"),
				corev1.ResourceLimitsCPU: resource.MustParse("2"), corev1.ResourceLimitsMemory: resource.MustParse("2Gi"),
			}},
		}
		if _, err := env.Client.CoreV1().ResourceQuotas(ns).Create(ctxFor(t), quota, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create quota: %v", err)
		}
		tmpl := podSpec(cmd...)
		tmpl.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		}
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "quota", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
		})
		done := waitJob(t, job, batchv1.JobComplete)
		if done.Status.Succeeded != 1 {
			t.Errorf("succeeded %d, want 1", done.Status.Succeeded)
		}
		pod := jobPods(t, job, 1)[0]
		assertInjected(t, pod, "quota", cmd)
		g := group(t, "quota", ns, "the run and its attempt",
			all(runInfo(ResultSucceeded, conditionReason(t, done, batchv1.JobComplete)), attemptReason(ReasonSucceeded)))
		want(t, g, MetricLastAttemptExitCode, nil, 0)
	})
}
