package inject

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
)

// TestPodCases runs Pod over real-shaped Job and CronJob pods. Every case also
// checks that the input is not modified, that a skipped pod comes back
// untouched, and that injecting the output again changes nothing.
func TestPodCases(t *testing.T) {
	tests := []struct {
		name         string
		pod          *corev1.Pod
		owner        Owner
		cfg          func(*Config)
		wantInjected bool
		wantReason   string
		wantWarnings []string // substrings, one per warning, in order
		wantSkipped  []Skip   // container and reason (the message is among the warnings)
		check        func(t *testing.T, in, out *corev1.Pod)
	}{
		{
			name:         "plain Job, one container: no schedule env, no container label",
			pod:          jobPod("db-migrate", container("migrate", "/migrate", "up")),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				env := envOf(out.Spec.Containers[0])
				if env["JOBCHECK_JOB"] != "db-migrate" {
					t.Errorf("JOBCHECK_JOB = %q, want the Job's name db-migrate", env["JOBCHECK_JOB"])
				}
				for _, name := range []string{"JOBCHECK_CONTAINER", "JOBCHECK_SCHEDULE", "JOBCHECK_TIMEZONE", "JOBCHECK_GRACE"} {
					if v, ok := env[name]; ok {
						t.Errorf("%s = %q set for a one-container plain Job", name, v)
					}
				}
				wantCmd := []string{"/opt/jobcheck/jobcheck", "run", "--", "/migrate", "up"}
				if got := out.Spec.Containers[0].Command; !slices.Equal(got, wantCmd) {
					t.Errorf("command = %q, want %q", got, wantCmd)
				}
				if got := out.Spec.Containers[0].Args; !slices.Equal(got, in.Spec.Containers[0].Args) {
					t.Errorf("args = %q, want them untouched %q", got, in.Spec.Containers[0].Args)
				}
			},
		},
		{
			name:         "several containers: all wrapped, each with its own container label and sentinel",
			pod:          jobPod("nightly-export-29345678", container("export", "/export"), container("upload", "/upload"), container("notify", "/notify")),
			owner:        cronOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				for _, c := range out.Spec.Containers {
					env := envOf(c)
					if env["JOBCHECK_CONTAINER"] != c.Name {
						t.Errorf("container %s: JOBCHECK_CONTAINER = %q, want %q", c.Name, env["JOBCHECK_CONTAINER"], c.Name)
					}
					if want := "/opt/jobcheck/" + c.Name + ".heartbeat"; env["JOBCHECK_SENTINEL"] != want {
						t.Errorf("container %s: JOBCHECK_SENTINEL = %q, want %q", c.Name, env["JOBCHECK_SENTINEL"], want)
					}
					if env["JOBCHECK_JOB"] != "nightly-export" {
						t.Errorf("container %s: JOBCHECK_JOB = %q, want the CronJob's name", c.Name, env["JOBCHECK_JOB"])
					}
					assertWrapped(t, c)
				}
			},
		},
		{
			name: "jobcheck.io/containers picks containers, the others stay untouched",
			pod: withAnnotations(jobPod("nightly-export-29345678", container("export", "/export"), container("proxy", "/proxy"), container("upload", "/upload")),
				contract.AnnotationContainers, " export , upload"),
			owner:        cronOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				assertWrapped(t, out.Spec.Containers[0])
				assertWrapped(t, out.Spec.Containers[2])
				if diff := cmp.Diff(in.Spec.Containers[1], out.Spec.Containers[1]); diff != "" {
					t.Errorf("container proxy not named in %s was changed (-in +out):\n%s", contract.AnnotationContainers, diff)
				}
				if envOf(out.Spec.Containers[0])["JOBCHECK_CONTAINER"] != "export" {
					t.Errorf("two containers wrapped but JOBCHECK_CONTAINER not set")
				}
			},
		},
		{
			name:         "one container wrapped: no container label even though the pod has two",
			pod:          withAnnotations(jobPod("db-migrate", container("migrate", "/migrate"), container("proxy", "/proxy")), contract.AnnotationContainers, "migrate"),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				if v, ok := envOf(out.Spec.Containers[0])["JOBCHECK_CONTAINER"]; ok {
					t.Errorf("JOBCHECK_CONTAINER = %q with one wrapped container", v)
				}
			},
		},
		{
			name:         "a container without command whose image was not looked up is left alone with a warning, the others are wrapped",
			pod:          jobPod("db-migrate", container("migrate", "/migrate"), container("image-entrypoint")),
			owner:        jobOwner(),
			wantInjected: true,
			wantReason:   ReasonPartial,
			wantWarnings: []string{`container "image-entrypoint" not wrapped: it has no command and its image's ENTRYPOINT was not looked up; set jobcheck.io/command`},
			wantSkipped:  []Skip{{Container: "image-entrypoint", Reason: ReasonNoCommand}},
			check: func(t *testing.T, in, out *corev1.Pod) {
				assertWrapped(t, out.Spec.Containers[0])
				if diff := cmp.Diff(in.Spec.Containers[1], out.Spec.Containers[1]); diff != "" {
					t.Errorf("container without command was changed (-in +out):\n%s", diff)
				}
				if envOf(out.Spec.Containers[0])["JOBCHECK_CONTAINER"] != "" {
					t.Errorf("JOBCHECK_CONTAINER set though only one container is wrapped")
				}
			},
		},
		{
			name:         "no container has a command: not injected, with the reason",
			pod:          jobPod("db-migrate", container("image-entrypoint")),
			owner:        jobOwner(),
			wantReason:   ReasonNoCommand,
			wantWarnings: []string{`container "image-entrypoint" not wrapped: it has no command and its image's ENTRYPOINT was not looked up; set jobcheck.io/command to its argv as a JSON array`},
			wantSkipped:  []Skip{{Container: "image-entrypoint", Reason: ReasonNoCommand}},
		},
		{
			name:         "jobcheck.io/command gives the argv of a container without command; args untouched",
			pod:          withAnnotations(jobPod("db-migrate", container("image-entrypoint")), contract.AnnotationCommand, `["/usr/local/bin/entry","--mode","batch"]`),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				want := []string{"/opt/jobcheck/jobcheck", "run", "--", "/usr/local/bin/entry", "--mode", "batch"}
				if got := out.Spec.Containers[0].Command; !slices.Equal(got, want) {
					t.Errorf("command = %q, want %q", got, want)
				}
				if got := out.Spec.Containers[0].Args; !slices.Equal(got, []string{"--verbose"}) {
					t.Errorf("args = %q, want untouched", got)
				}
			},
		},
		{
			name:         "jobcheck.io/command does not replace an existing command",
			pod:          withAnnotations(jobPod("db-migrate", container("migrate", "/migrate")), contract.AnnotationCommand, `["/other"]`),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				want := []string{"/opt/jobcheck/jobcheck", "run", "--", "/migrate"}
				if got := out.Spec.Containers[0].Command; !slices.Equal(got, want) {
					t.Errorf("command = %q, want %q", got, want)
				}
			},
		},
		{
			name:         "an existing liveness probe and preStop hook are kept",
			pod:          jobPod("db-migrate", withHooks(container("migrate", "/migrate"))),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				if diff := cmp.Diff(in.Spec.Containers[0].LivenessProbe, out.Spec.Containers[0].LivenessProbe); diff != "" {
					t.Errorf("existing liveness probe changed (-in +out):\n%s", diff)
				}
				if diff := cmp.Diff(in.Spec.Containers[0].Lifecycle, out.Spec.Containers[0].Lifecycle); diff != "" {
					t.Errorf("existing lifecycle changed (-in +out):\n%s", diff)
				}
			},
		},
		{
			name: "a postStart hook is kept and preStop is added beside it",
			pod: func() *corev1.Pod {
				c := container("migrate", "/migrate")
				c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/warmup"}}}}
				return jobPod("db-migrate", c)
			}(),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				lc := out.Spec.Containers[0].Lifecycle
				if lc.PostStart == nil || !slices.Equal(lc.PostStart.Exec.Command, []string{"/warmup"}) {
					t.Errorf("postStart = %+v, want kept", lc.PostStart)
				}
				if lc.PreStop == nil || !slices.Equal(lc.PreStop.Exec.Command, []string{"/opt/jobcheck/jobcheck", "prestop"}) {
					t.Errorf("preStop = %+v, want jobcheck prestop", lc.PreStop)
				}
			},
		},
		{
			name: "existing init containers and a native sidecar run after the installer",
			pod: func() *corev1.Pod {
				p := jobPod("db-migrate", container("migrate", "/migrate"))
				sidecar := container("log-shipper", "/ship")
				sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				p.Spec.InitContainers = []corev1.Container{container("fetch", "/fetch"), sidecar}
				return p
			}(),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				var names []string
				for _, c := range out.Spec.InitContainers {
					names = append(names, c.Name)
				}
				if want := []string{"jobcheck-install", "fetch", "log-shipper"}; !slices.Equal(names, want) {
					t.Errorf("init containers = %q, want %q", names, want)
				}
				if diff := cmp.Diff(in.Spec.InitContainers, out.Spec.InitContainers[1:]); diff != "" {
					t.Errorf("user init containers changed (-in +out):\n%s", diff)
				}
			},
		},
		{
			name:       "already injected: unchanged",
			pod:        withAnnotations(jobPod("db-migrate", container("migrate", "/migrate")), contract.AnnotationInjected, "v0.9.0"),
			owner:      jobOwner(),
			wantReason: ReasonAlreadyInjected,
		},
		{
			name:       "not enabled anywhere",
			pod:        jobPod("db-migrate", container("migrate", "/migrate")),
			owner:      Owner{JobName: "db-migrate"},
			wantReason: ReasonNotEnabled,
		},
		{
			name:       "enabled false on the pod template beats true on the CronJob",
			pod:        withAnnotations(jobPod("nightly-export-29345678", container("export", "/export")), contract.AnnotationEnabled, "false"),
			owner:      cronOwner(),
			wantReason: ReasonNotEnabled,
		},
		{
			name:         "enabled on the pod template alone",
			pod:          withAnnotations(jobPod("db-migrate", container("migrate", "/migrate")), contract.AnnotationEnabled, "true"),
			owner:        Owner{JobName: "db-migrate"},
			wantInjected: true,
		},
		{
			name:         "liveness false: no probe, preStop still added",
			pod:          withAnnotations(jobPod("db-migrate", container("migrate", "/migrate")), contract.AnnotationLiveness, "false"),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				if p := out.Spec.Containers[0].LivenessProbe; p != nil {
					t.Errorf("liveness probe %+v added though %s is false", p, contract.AnnotationLiveness)
				}
				if out.Spec.Containers[0].Lifecycle == nil || out.Spec.Containers[0].Lifecycle.PreStop == nil {
					t.Errorf("preStop missing")
				}
			},
		},
		{
			name:         "liveness false as a flag, true on the Job",
			pod:          jobPod("db-migrate", container("migrate", "/migrate")),
			owner:        Owner{JobName: "db-migrate", JobAnnotations: map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationLiveness: "true"}},
			cfg:          func(c *Config) { c.Liveness = false },
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				if out.Spec.Containers[0].LivenessProbe == nil {
					t.Errorf("no liveness probe though the Job says %s: true", contract.AnnotationLiveness)
				}
			},
		},
		{
			name: "agent image from a private registry: pull policy and the pod's pull secrets",
			pod: func() *corev1.Pod {
				p := jobPod("db-migrate", container("migrate", "/migrate"))
				p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "app-registry"}, {Name: "shared"}}
				return p
			}(),
			owner: jobOwner(),
			cfg: func(c *Config) {
				c.AgentPullPolicy = corev1.PullAlways
				c.AgentPullSecrets = []string{"shared", "jobcheck-registry"}
			},
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				if p := out.Spec.InitContainers[0].ImagePullPolicy; p != corev1.PullAlways {
					t.Errorf("installer imagePullPolicy %q, want Always", p)
				}
				var names []string
				for _, r := range out.Spec.ImagePullSecrets {
					names = append(names, r.Name)
				}
				if want := []string{"app-registry", "shared", "jobcheck-registry"}; !slices.Equal(names, want) {
					t.Errorf("imagePullSecrets %q, want %q (the pod's, then the agent's it lacks)", names, want)
				}
			},
		},
		{
			name:         "short max age: probe period a quarter of it, at least 10s",
			pod:          withAnnotations(jobPod("db-migrate", container("migrate", "/migrate")), contract.AnnotationMaxAge, "2m"),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				p := out.Spec.Containers[0].LivenessProbe
				if p.PeriodSeconds != 30 || p.TimeoutSeconds != 5 || p.FailureThreshold != 3 {
					t.Errorf("probe period/timeout/failures = %d/%d/%d, want 30/5/3", p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold)
				}
				if v := envOf(out.Spec.Containers[0])["JOBCHECK_MAX_AGE"]; v != "2m0s" {
					t.Errorf("JOBCHECK_MAX_AGE = %q, want 2m0s", v)
				}
			},
		},
		{
			name: "env the user already set is kept, not duplicated",
			pod: func() *corev1.Pod {
				c := container("migrate", "/migrate")
				c.Env = append(c.Env, corev1.EnvVar{Name: "JOBCHECK_HEARTBEAT", Value: "file"})
				return jobPod("db-migrate", c)
			}(),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				n := 0
				for _, e := range out.Spec.Containers[0].Env {
					if e.Name == "JOBCHECK_HEARTBEAT" {
						n++
						if e.Value != "file" {
							t.Errorf("JOBCHECK_HEARTBEAT = %q, want the user's file", e.Value)
						}
					}
				}
				if n != 1 {
					t.Errorf("JOBCHECK_HEARTBEAT appears %d times, want once", n)
				}
			},
		},
		{
			name: "pod asking for root: the installer names the image's non-root UID",
			pod: func() *corev1.Pod {
				p := jobPod("db-migrate", container("migrate", "/migrate"))
				p.Spec.SecurityContext.RunAsUser = ptr.To[int64](0)
				return p
			}(),
			owner:        jobOwner(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				sc := out.Spec.InitContainers[0].SecurityContext
				if sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
					t.Errorf("installer runAsUser = %v, want 65532 under a root pod", sc.RunAsUser)
				}
			},
		},
		{
			name: "bare pod with the annotation: job label is the pod's name",
			pod: func() *corev1.Pod {
				p := withAnnotations(jobPod("x", container("main", "/main")), contract.AnnotationEnabled, "true")
				p.Name, p.GenerateName, p.OwnerReferences = "one-off-report", "", nil
				return p
			}(),
			wantInjected: true,
			check: func(t *testing.T, in, out *corev1.Pod) {
				if v := envOf(out.Spec.Containers[0])["JOBCHECK_JOB"]; v != "one-off-report" {
					t.Errorf("JOBCHECK_JOB = %q, want the pod's name", v)
				}
			},
		},
		{
			name:         "no Pushgateway anywhere: injected with a warning",
			pod:          jobPod("db-migrate", container("migrate", "/migrate")),
			owner:        jobOwner(),
			cfg:          func(c *Config) { c.Pushgateway = "" },
			wantInjected: true,
			wantWarnings: []string{"no Pushgateway configured (set jobcheck.io/pushgateway)"},
			check: func(t *testing.T, in, out *corev1.Pod) {
				if _, ok := envOf(out.Spec.Containers[0])["JOBCHECK_PUSHGATEWAY"]; ok {
					t.Errorf("JOBCHECK_PUSHGATEWAY set with no Pushgateway")
				}
			},
		},
		{
			name: "a volume already named jobcheck: not injected",
			pod: func() *corev1.Pod {
				p := jobPod("db-migrate", container("migrate", "/migrate"))
				p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "jobcheck"})
				return p
			}(),
			owner:        jobOwner(),
			wantReason:   ReasonConflict,
			wantWarnings: []string{`already has a volume named "jobcheck"`},
		},
		{
			name: "a Windows pod: not injected",
			pod: func() *corev1.Pod {
				p := jobPod("db-migrate", container("migrate", "/migrate"))
				p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
				return p
			}(),
			owner:        jobOwner(),
			wantReason:   ReasonConflict,
			wantWarnings: []string{"the agent runs on Linux only and this is a Windows pod"},
		},
		{
			name: "a pod selecting Windows nodes: not injected",
			pod: func() *corev1.Pod {
				p := jobPod("db-migrate", container("migrate", "/migrate"))
				p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "windows"}
				return p
			}(),
			owner:        jobOwner(),
			wantReason:   ReasonConflict,
			wantWarnings: []string{"Windows pod"},
		},
		{
			name: "a container already mounting /opt/jobcheck is not wrapped",
			pod: func() *corev1.Pod {
				c := container("other", "/other")
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/opt/jobcheck/"})
				return jobPod("db-migrate", container("migrate", "/migrate"), c)
			}(),
			owner:        jobOwner(),
			wantInjected: true,
			wantReason:   ReasonPartial,
			wantWarnings: []string{`container "other" not wrapped: it already mounts something at /opt/jobcheck; mount it elsewhere or leave it out with jobcheck.io/containers`},
			wantSkipped:  []Skip{{Container: "other", Reason: ReasonMountConflict}},
			check: func(t *testing.T, in, out *corev1.Pod) {
				if diff := cmp.Diff(in.Spec.Containers[1], out.Spec.Containers[1]); diff != "" {
					t.Errorf("container with its own /opt/jobcheck changed (-in +out):\n%s", diff)
				}
			},
		},
		{
			name:         "no agent image configured: not injected",
			pod:          jobPod("db-migrate", container("migrate", "/migrate")),
			owner:        jobOwner(),
			cfg:          func(c *Config) { c.AgentImage = "" },
			wantReason:   ReasonBadConfig,
			wantWarnings: []string{"no agent image"},
		},
		{
			name:         "a bad value far away is overridden by a good one nearer",
			pod:          withAnnotations(jobPod("nightly-export-29345678", container("export", "/export")), contract.AnnotationMaxAge, "1h"),
			owner:        withCron(cronOwner(), contract.AnnotationMaxAge, "soon"),
			wantInjected: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			in := tt.pod.DeepCopy()
			res := Pod(tt.pod, tt.owner, nil, cfg)

			if diff := cmp.Diff(in, tt.pod); diff != "" {
				t.Fatalf("Pod modified its input (-before +after):\n%s", diff)
			}
			wantReason := tt.wantReason
			if tt.wantInjected && wantReason == "" {
				wantReason = ReasonInjected
			}
			if res.Injected != tt.wantInjected || res.Reason != wantReason {
				t.Fatalf("Pod = injected %v reason %q (warnings %q), want injected %v reason %q",
					res.Injected, res.Reason, res.Warnings, tt.wantInjected, wantReason)
			}
			assertWarnings(t, res.Warnings, tt.wantWarnings)
			assertSkipped(t, res, tt.wantSkipped)
			if !res.Injected {
				if res.Pod != tt.pod {
					t.Errorf("skipped pod is not the input pod")
				}
				return
			}
			assertInjected(t, res.Pod, cfg)
			assertPatch(t, in, res.Pod)
			if tt.check != nil {
				tt.check(t, in, res.Pod)
			}
			again := Pod(res.Pod, tt.owner, nil, cfg)
			if again.Injected || again.Reason != ReasonAlreadyInjected || again.Pod != res.Pod {
				t.Errorf("second Pod = injected %v reason %q, want the output unchanged (already-injected)", again.Injected, again.Reason)
			}
		})
	}
}

// TestPodBadAnnotations: every bad value skips injection with a warning that
// names the annotation, where it sits and the value; the pod is untouched.
func TestPodBadAnnotations(t *testing.T) {
	const (
		url      = "want an http or https URL"
		duration = "want a positive Go duration"
		grace    = "want a Go duration of zero or more"
		argv     = "want a non-empty JSON array of strings"
	)
	tests := []struct {
		key, value, why string
	}{
		{contract.AnnotationEnabled, "yes", `want "true" or "false"`},
		{contract.AnnotationPushgateway, "pushgateway:9091", url},
		{contract.AnnotationPushgateway, "ftp://pushgateway:9091", url},
		{contract.AnnotationJobName, " ", "want a non-empty job name"},
		{contract.AnnotationContainers, "export,nope", `the pod has no container "nope"`},
		{contract.AnnotationContainers, " , ", "want a comma-separated list of container names"},
		{contract.AnnotationMaxAge, "soon", duration},
		{contract.AnnotationMaxAge, "30", duration},
		{contract.AnnotationMaxAge, "0s", duration},
		{contract.AnnotationMaxAge, "-5m", duration},
		{contract.AnnotationHeartbeat, "cpu", `want "progress" or "file"`},
		{contract.AnnotationLiveness, "no", `want "true" or "false"`},
		{contract.AnnotationGrace, "later", grace},
		{contract.AnnotationGrace, "-1m", grace},
		{contract.AnnotationCommand, "/bin/export --all", argv},
		{contract.AnnotationCommand, "[]", argv},
		{contract.AnnotationCommand, `["", "x"]`, argv},
		{contract.AnnotationCommand, `[1, 2]`, argv},
		{contract.AnnotationCommand, `{"argv": ["/x"]}`, `the pod has no container "argv"`},
		{contract.AnnotationCommand, `{}`, argv},
		{contract.AnnotationCommand, `{"upload": []}`, `container "upload": ` + argv},
		{contract.AnnotationCommand, `{"upload": "/x"}`, argv},
		{contract.AnnotationMaxAge, "4s", "want at least 5s: a shorter max age could let a busy node's delays make a live job look hung"},
		{contract.AnnotationMaxAge, "1ms", "want at least 5s"},
	}
	for _, where := range []string{"pod", "Job", "CronJob"} {
		for _, tt := range tests {
			t.Run(where+"/"+tt.key+"="+tt.value, func(t *testing.T) {
				pod := jobPod("nightly-export-29345678", container("export", "/export"), container("upload"))
				owner := cronOwner()
				switch where {
				case "pod":
					withAnnotations(pod, tt.key, tt.value)
				case "Job":
					owner.JobAnnotations[tt.key] = tt.value
				case "CronJob":
					owner.CronJobAnnotations[tt.key] = tt.value
				}
				in := pod.DeepCopy()
				res := Pod(pod, owner, nil, testConfig())
				if res.Injected || res.Reason != ReasonBadAnnotation {
					t.Fatalf("Pod = injected %v reason %q, want not injected, %q", res.Injected, res.Reason, ReasonBadAnnotation)
				}
				if res.Pod != pod || cmp.Diff(in, res.Pod) != "" {
					t.Errorf("pod changed though injection was skipped")
				}
				want := "jobcheck not injected: annotation " + tt.key + "=" + strconv.Quote(tt.value) + " on the " + where + ": " + tt.why
				if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], want) {
					t.Errorf("warnings = %q, want one containing %q", res.Warnings, want)
				}
			})
		}
	}
}

// TestPodNearestWins: every setting resolves pod template > Job > CronJob > flags.
func TestPodNearestWins(t *testing.T) {
	type levels struct{ pod, job, cron string }
	tests := []struct {
		key    string
		set    levels
		env    string // the env var showing the setting
		want   string
		config func(*Config)
	}{
		{contract.AnnotationMaxAge, levels{"10m", "20m", "30m"}, "JOBCHECK_MAX_AGE", "10m0s", nil},
		{contract.AnnotationMaxAge, levels{"", "20m", "30m"}, "JOBCHECK_MAX_AGE", "20m0s", nil},
		{contract.AnnotationMaxAge, levels{"", "", "30m"}, "JOBCHECK_MAX_AGE", "30m0s", nil},
		{contract.AnnotationMaxAge, levels{"", "", ""}, "JOBCHECK_MAX_AGE", "45m0s", func(c *Config) { c.MaxAge = 45 * 60e9 }},
		{contract.AnnotationPushgateway, levels{"http://p:9091", "http://j:9091", "http://c:9091"}, "JOBCHECK_PUSHGATEWAY", "http://p:9091", nil},
		{contract.AnnotationPushgateway, levels{"", "http://j:9091", "http://c:9091"}, "JOBCHECK_PUSHGATEWAY", "http://j:9091", nil},
		{contract.AnnotationPushgateway, levels{"", "", "http://c:9091"}, "JOBCHECK_PUSHGATEWAY", "http://c:9091", nil},
		{contract.AnnotationPushgateway, levels{"", "", ""}, "JOBCHECK_PUSHGATEWAY", "http://pushgateway.monitoring:9091", nil},
		{contract.AnnotationJobName, levels{"p", "j", "c"}, "JOBCHECK_JOB", "p", nil},
		{contract.AnnotationJobName, levels{"", "j", "c"}, "JOBCHECK_JOB", "j", nil},
		{contract.AnnotationJobName, levels{"", "", "c"}, "JOBCHECK_JOB", "c", nil},
		{contract.AnnotationJobName, levels{"", "", ""}, "JOBCHECK_JOB", "nightly-export", nil},
		{contract.AnnotationHeartbeat, levels{"file", "progress", "progress"}, "JOBCHECK_HEARTBEAT", "file", nil},
		{contract.AnnotationHeartbeat, levels{"", "file", "progress"}, "JOBCHECK_HEARTBEAT", "file", nil},
		{contract.AnnotationHeartbeat, levels{"", "", "file"}, "JOBCHECK_HEARTBEAT", "file", nil},
		{contract.AnnotationHeartbeat, levels{"", "", ""}, "JOBCHECK_HEARTBEAT", "file", func(c *Config) { c.Heartbeat = "file" }},
		{contract.AnnotationGrace, levels{"1m", "2m", "3m"}, "JOBCHECK_GRACE", "1m0s", nil},
		{contract.AnnotationGrace, levels{"", "2m", "3m"}, "JOBCHECK_GRACE", "2m0s", nil},
		{contract.AnnotationGrace, levels{"", "", "3m"}, "JOBCHECK_GRACE", "3m0s", nil},
		{contract.AnnotationGrace, levels{"", "", "0s"}, "JOBCHECK_GRACE", "0s", nil},
		{contract.AnnotationGrace, levels{"", "", ""}, "JOBCHECK_GRACE", "5m0s", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.set.pod+","+tt.set.job+","+tt.set.cron, func(t *testing.T) {
			pod := jobPod("nightly-export-29345678", container("export", "/export"))
			owner := cronOwner()
			if tt.set.pod != "" {
				withAnnotations(pod, tt.key, tt.set.pod)
			}
			if tt.set.job != "" {
				owner.JobAnnotations[tt.key] = tt.set.job
			}
			if tt.set.cron != "" {
				owner.CronJobAnnotations[tt.key] = tt.set.cron
			}
			cfg := testConfig()
			if tt.config != nil {
				tt.config(&cfg)
			}
			res := Pod(pod, owner, nil, cfg)
			if !res.Injected {
				t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
			}
			if got := envOf(res.Pod.Spec.Containers[0])[tt.env]; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.env, got, tt.want)
			}
		})
	}
	t.Run("containers and command", func(t *testing.T) {
		pod := withAnnotations(jobPod("nightly-export-29345678", container("export"), container("upload", "/upload")),
			contract.AnnotationContainers, "export", contract.AnnotationCommand, `["/pod"]`)
		owner := cronOwner()
		owner.JobAnnotations[contract.AnnotationContainers] = "upload"
		owner.JobAnnotations[contract.AnnotationCommand] = `["/job"]`
		res := Pod(pod, owner, nil, testConfig())
		if !res.Injected {
			t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
		}
		if got, want := res.Pod.Spec.Containers[0].Command, []string{"/opt/jobcheck/jobcheck", "run", "--", "/pod"}; !slices.Equal(got, want) {
			t.Errorf("export command = %q, want %q (pod's command annotation)", got, want)
		}
		if got := res.Pod.Spec.Containers[1].Command; !slices.Equal(got, []string{"/upload"}) {
			t.Errorf("upload command = %q, want untouched (pod's containers annotation names export only)", got)
		}
	})
}

// TestQuote: a value in a warning is a short, single-line literal, however
// long or strange the value.
func TestQuote(t *testing.T) {
	for name, tt := range map[string]struct{ value, want string }{
		"long":          {"1h\n" + strings.Repeat("x", 500), `max-age="1h\nxxxxxxxxxx`},
		"control bytes": {strings.Repeat("\x00", 300), `max-age="\x00\x00`},
		"wide runes":    {strings.Repeat("\U0001F600", 300), "max-age=\"\U0001F600\U0001F600"},
		"invalid UTF-8": {strings.Repeat("\xff", 300), `max-age="\xff\xff`},
	} {
		t.Run(name, func(t *testing.T) {
			pod := withAnnotations(jobPod("db-migrate", container("migrate", "/migrate")), contract.AnnotationMaxAge, tt.value)
			res := Pod(pod, jobOwner(), nil, testConfig())
			if len(res.Warnings) != 1 {
				t.Fatalf("warnings = %q, want one", res.Warnings)
			}
			w := res.Warnings[0]
			if strings.ContainsAny(w, "\n\r\x00") || !utf8.ValidString(w) || len(w) > 256 {
				t.Errorf("warning %q (%d bytes) is not a short single line", w, len(w))
			}
			if !strings.Contains(w, tt.want) || !strings.Contains(w, `"... on the pod`) {
				t.Errorf("warning %q does not show the start of the value (%s), quoted and cut", w, tt.want)
			}
		})
	}
}

func withCron(o Owner, kv ...string) Owner {
	for i := 0; i+1 < len(kv); i += 2 {
		o.CronJobAnnotations[kv[i]] = kv[i+1]
	}
	return o
}

// withHooks gives c its own liveness probe and preStop hook.
func withHooks(c corev1.Container) corev1.Container {
	c.LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}},
		PeriodSeconds: 7, TimeoutSeconds: 2, SuccessThreshold: 1, FailureThreshold: 9,
	}
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}}
	return c
}

// assertWrapped checks the parts every wrapped container has.
func assertWrapped(t *testing.T, c corev1.Container) {
	t.Helper()
	if len(c.Command) < 4 || !slices.Equal(c.Command[:3], []string{"/opt/jobcheck/jobcheck", "run", "--"}) {
		t.Errorf("container %s: command %q is not wrapped", c.Name, c.Command)
	}
	if !slices.Contains(c.VolumeMounts, corev1.VolumeMount{Name: "jobcheck", MountPath: "/opt/jobcheck"}) {
		t.Errorf("container %s: no jobcheck mount", c.Name)
	}
	env := envOf(c)
	for name, want := range map[string]string{
		"JOBCHECK_NAMESPACE": "fieldRef:metadata.namespace",
		"JOBCHECK_POD":       "fieldRef:metadata.name",
	} {
		if env[name] != want {
			t.Errorf("container %s: %s = %q, want %q", c.Name, name, env[name], want)
		}
	}
	for _, name := range []string{"JOBCHECK_JOB", "JOBCHECK_SENTINEL", "JOBCHECK_MAX_AGE", "JOBCHECK_HEARTBEAT"} {
		if env[name] == "" {
			t.Errorf("container %s: %s not set", c.Name, name)
		}
	}
}

// assertSkipped checks the containers res skipped and their reasons, and
// that each message is among the warnings.
func assertSkipped(t *testing.T, res Result, want []Skip) {
	t.Helper()
	if len(res.Skipped) != len(want) {
		t.Errorf("skipped = %+v, want %+v", res.Skipped, want)
		return
	}
	for i, k := range res.Skipped {
		if k.Container != want[i].Container || k.Reason != want[i].Reason {
			t.Errorf("skipped[%d] = %s (%s), want %s (%s)", i, k.Container, k.Reason, want[i].Container, want[i].Reason)
		}
		if !slices.Contains(res.Warnings, k.Message) || !strings.Contains(k.Message, strconv.Quote(k.Container)) {
			t.Errorf("skipped[%d] message %q is not a warning naming the container", i, k.Message)
		}
	}
}

// assertInjected checks the pod-level parts of every injected pod.
func assertInjected(t *testing.T, p *corev1.Pod, cfg Config) {
	t.Helper()
	if p.Annotations[contract.AnnotationInjected] != cfg.Version {
		t.Errorf("marker %s = %q, want %q", contract.AnnotationInjected, p.Annotations[contract.AnnotationInjected], cfg.Version)
	}
	if p.Labels["jobcheck.io/injected"] != "true" {
		t.Errorf("label jobcheck.io/injected = %q, want \"true\" (the run watcher selects by it)", p.Labels["jobcheck.io/injected"])
	}
	for _, c := range p.Spec.Containers {
		if len(c.Command) > 0 && c.Command[0] == "/opt/jobcheck/jobcheck" && envOf(c)["JOBCHECK_INJECTED"] != cfg.Version {
			t.Errorf("container %s: JOBCHECK_INJECTED = %q, want the version %q", c.Name, envOf(c)["JOBCHECK_INJECTED"], cfg.Version)
		}
	}
	if len(p.Spec.InitContainers) == 0 || p.Spec.InitContainers[0].Name != "jobcheck-install" {
		t.Errorf("first init container is not jobcheck-install")
	}
	n := 0
	for _, v := range p.Spec.Volumes {
		if v.Name == "jobcheck" {
			n++
			if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.String() != "32Mi" {
				t.Errorf("volume jobcheck = %+v, want emptyDir with sizeLimit 32Mi", v.VolumeSource)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d volumes named jobcheck, want 1", n)
	}
}

// assertWarnings checks that got has one warning per want, each containing it.
func assertWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("warnings = %q, want %d containing %q", got, len(want), want)
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}
