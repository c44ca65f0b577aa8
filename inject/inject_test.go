package inject

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
)

// TestPodCronJob spells out, field by field, the whole pod a one-container
// CronJob pod becomes: the contract of internals.md.
func TestPodCronJob(t *testing.T) {
	in := jobPod("nightly-export-29345678", container("export", "/bin/export", "--all"))
	got := Pod(in, cronOwner(), nil, testConfig())
	if !got.Injected || got.Reason != ReasonInjected || len(got.Warnings) != 0 {
		t.Fatalf("Pod = injected %v, reason %q, warnings %q; want injected with no warning", got.Injected, got.Reason, got.Warnings)
	}

	want := jobPod("nightly-export-29345678", container("export", "/bin/export", "--all"))
	want.Annotations = map[string]string{"jobcheck.io/injected": "v1.2.3"}
	want.Labels["jobcheck.io/injected"] = "true"
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
		corev1.EnvVar{Name: "JOBCHECK_INJECTED", Value: "v1.2.3"},
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

// TestConfigValidate: each value Pod cannot use is named as the flag that
// sets it.
func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		change func(*Config)
		want   string // "" for valid
	}{
		{func(c *Config) {}, ""},
		{func(c *Config) { c.Report = contract.ReportAttempt }, ""},
		{func(c *Config) { c.Report = contract.ReportRun }, ""},
		{func(c *Config) { c.MaxAge = contract.MinMaxAge }, ""},
		{func(c *Config) { c.AgentImage = "" }, "agent-image: must not be empty"},
		{func(c *Config) { c.Pushgateway = "pg:9091" }, `pushgateway "pg:9091": want an http or https URL`},
		{func(c *Config) { c.MaxAge = 0 }, "max-age 0s: must be more than zero"},
		{func(c *Config) { c.MaxAge = 4 * time.Second }, "max-age 4s: want at least 5s: a shorter max age could let a busy node's delays make a live job look hung"},
		{func(c *Config) { c.Heartbeat = "cpu" }, `heartbeat "cpu": want "progress" or "file"`},
		{func(c *Config) { c.Grace = -time.Second }, "grace -1s: must not be negative"},
		{func(c *Config) { c.Report = "runs" }, `report "runs": want "run" or "attempt"`},
	} {
		cfg := testConfig()
		tt.change(&cfg)
		err := cfg.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("Validate() = %v, want %q", err, tt.want)
		}
	}
}
