package inject

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// TestPodCronJob spells out, field by field, the whole pod a one-container
// CronJob pod becomes: the contract of internals.md.
func TestPodCronJob(t *testing.T) {
	in := jobPod("nightly-export-29345678", container("export", "/bin/export", "--all"))
	got := Pod(in, cronOwner(), testConfig())
	if !got.Injected || got.Reason != ReasonInjected || len(got.Warnings) != 0 {
		t.Fatalf("Pod = injected %v, reason %q, warnings %q; want injected with no warning", got.Injected, got.Reason, got.Warnings)
	}

	want := jobPod("nightly-export-29345678", container("export", "/bin/export", "--all"))
	want.Annotations = map[string]string{"jobcheck.io/injected": "v1.2.3"}
	size := resource.MustParse("32Mi")
	want.Spec.Volumes = append(want.Spec.Volumes, corev1.Volume{
		Name: "jobcheck", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &size}},
	})
	want.Spec.InitContainers = []corev1.Container{{
		Name:    "jobcheck-install",
		Image:   "registry.example/jobcheck/agent:v1.2.3",
		Command: []string{"/jobcheck", "install", "/opt/jobcheck/jobcheck"},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "jobcheck", MountPath: "/opt/jobcheck"}},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}}
	c := &want.Spec.Containers[0]
	c.Command = []string{"/opt/jobcheck/jobcheck", "run", "--", "/bin/export", "--all"}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "jobcheck", MountPath: "/opt/jobcheck"})
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}}
	}
	c.Env = append(c.Env,
		corev1.EnvVar{Name: "JOBCHECK_PUSHGATEWAY", Value: "http://pushgateway.monitoring:9091"},
		corev1.EnvVar{Name: "JOBCHECK_JOB", Value: "nightly-export"},
		field("JOBCHECK_NAMESPACE", "metadata.namespace"),
		field("JOBCHECK_POD", "metadata.name"),
		corev1.EnvVar{Name: "JOBCHECK_SENTINEL", Value: "/opt/jobcheck/export.heartbeat"},
		corev1.EnvVar{Name: "JOBCHECK_MAX_AGE", Value: "30m0s"},
		corev1.EnvVar{Name: "JOBCHECK_HEARTBEAT", Value: "progress"},
		corev1.EnvVar{Name: "JOBCHECK_SCHEDULE", Value: "0 3 * * *"},
		corev1.EnvVar{Name: "JOBCHECK_TIMEZONE", Value: "Europe/Berlin"},
		corev1.EnvVar{Name: "JOBCHECK_GRACE", Value: "5m0s"},
	)
	c.LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/opt/jobcheck/jobcheck", "probe"}}},
		InitialDelaySeconds: 10,
		TimeoutSeconds:      5,
		PeriodSeconds:       60, // a quarter of 30m, capped at 60s
		SuccessThreshold:    1,
		FailureThreshold:    3,
	}
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"/opt/jobcheck/jobcheck", "prestop"}},
	}}

	if diff := cmp.Diff(want, got.Pod); diff != "" {
		t.Errorf("injected pod differs (-want +got):\n%s", diff)
	}
}
