package inject

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// runtimeArgv is the argv a container runtime starts for c from an image
// running img (containerd's WithProcessArgs, CRI-O's and Docker's rule:
// a command replaces ENTRYPOINT and drops CMD, args replace CMD, an
// ENTRYPOINT of [""] is none), after the kubelet expanded $(VAR) and $$ in
// the command and args with env.
func runtimeArgv(c corev1.Container, img Image, env map[string]string) []string {
	command, args := expandAll(c.Command, env), expandAll(c.Args, env)
	if len(command) == 0 {
		if len(args) == 0 {
			args = img.Cmd
		}
		if !(len(img.Entrypoint) == 1 && img.Entrypoint[0] == "") {
			command = img.Entrypoint
		}
	}
	return append(slices.Clone(command), args...)
}

// agentArgv is the argv the agent's wrapper runs, given its own argv (what
// follows `jobcheck run --`) and its env: with contract.EnvEntrypoints, the
// running platform's entry goes first.
func agentArgv(t *testing.T, wrapped []string, env map[string]string, platform [3]string) []string {
	t.Helper()
	if !slices.Equal(wrapped[:3], []string{"/opt/jobcheck/jobcheck", "run", "--"}) {
		t.Fatalf("argv %q does not start with the wrapper", wrapped)
	}
	rest := wrapped[3:]
	js, ok := env["JOBCHECK_ENTRYPOINTS"]
	if !ok {
		return rest
	}
	var byPlatform map[string][]string
	if err := json.Unmarshal([]byte(js), &byPlatform); err != nil {
		t.Fatalf("JOBCHECK_ENTRYPOINTS %q: %v", js, err)
	}
	head, ok := contract.SelectEntrypoint(byPlatform, platform[0], platform[1], platform[2])
	if !ok {
		t.Fatalf("JOBCHECK_ENTRYPOINTS %q has no entry for %v", js, platform)
	}
	return append(slices.Clone(head), rest...)
}

// expand is the kubelet's expansion of a command, an arg or an env value
// (third_party/forked/golang/expansion): $$ is $, $(NAME) is NAME's value
// when NAME is defined, anything else stays.
func expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func expandAll(argv []string, env map[string]string) []string {
	if argv == nil {
		return nil
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = expand(a, env)
	}
	return out
}

// containerEnv is c's env after the kubelet expanded the values, in order
// (a value may refer to the variables before it).
func containerEnv(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expand(e.Value, env)
		}
	}
	return env
}

// TestWrappedArgvIsUnchanged: whatever the container and its image set, the
// wrapped container's process (the agent's child) gets exactly the argv the
// unwrapped container's process got, on every platform of the image.
func TestWrappedArgvIsUnchanged(t *testing.T) {
	type shape struct{ command, args []string }
	shapes := map[string]shape{
		"args only":   {nil, []string{"--since", "24h"}},
		"nothing":     {nil, nil},
		"empty args":  {nil, []string{}},
		"args with $": {nil, []string{"$(LOG_LEVEL)", "$$HOME"}},
	}
	images := map[string]Image{
		"entrypoint and cmd":   {Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"export", "--all"}},
		"entrypoint only":      {Entrypoint: []string{"/app"}},
		"cmd only (busybox)":   {Cmd: []string{"sh"}},
		"entrypoint reset":     {Entrypoint: []string{""}, Cmd: []string{"python", "main.py"}},
		"dollars in the image": {Entrypoint: []string{"sh", "-c", `echo "$(date) $$ ${HOME} $(LOG_LEVEL)"`, "--"}, Cmd: []string{"$1"}},
		"platforms differ": {Platforms: map[string]Image{
			"linux/amd64":    {Entrypoint: []string{"/amd64/app"}, Cmd: []string{"run"}},
			"linux/arm64/v8": {Entrypoint: []string{"/arm64/app"}, Cmd: []string{"run", "$(LOG_LEVEL)"}},
			"linux/arm/v7":   {Cmd: []string{"/arm/app"}},
		}},
	}
	platforms := [][3]string{{"linux", "amd64", ""}, {"linux", "arm64", ""}, {"linux", "arm", "v7"}}
	for sname, sh := range shapes {
		for iname, img := range images {
			t.Run(sname+"/"+iname, func(t *testing.T) {
				c := container("main")
				c.Command, c.Args = sh.command, sh.args
				pod := jobPod("db-migrate", c)
				res := Pod(pod, jobOwner(), Images{c.Image: img}, testConfig())
				if !res.Injected {
					t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
				}
				w := res.Pod.Spec.Containers[0]
				env := containerEnv(w)
				for _, p := range platforms {
					want := img
					if img.Platforms != nil {
						want = img.Platforms[contract.Platform(p[0], p[1], p[2])]
						if p[1] == "arm64" {
							want = img.Platforms["linux/arm64/v8"]
						}
					}
					before := runtimeArgv(c, want, containerEnv(c))
					// the wrapped container's own argv, as the runtime
					// starts it (its command is always set), then the
					// agent's child
					after := agentArgv(t, runtimeArgv(w, Image{}, env), env, p)
					if !slices.Equal(before, after) {
						t.Errorf("%v: child argv %q, unwrapped %q", p, after, before)
					}
				}
			})
		}
	}
}

// TestPodImages: what the wrapped container holds for each kind of image,
// and the containers left alone.
func TestPodImages(t *testing.T) {
	const image = "registry.example/team/main:1.0"
	tests := []struct {
		name        string
		args        []string
		img         Image
		noImage     bool // Images has no entry
		annotations []string
		wantReason  string
		wantWarning string
		wantCommand []string
		wantArgs    []string
		wantEnv     string // JOBCHECK_ENTRYPOINTS
	}{
		{
			name: "entrypoint and cmd, no args: CMD becomes the args", img: Image{Entrypoint: []string{"/entry.sh"}, Cmd: []string{"serve", "--port", "80"}},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--", "/entry.sh"}, wantArgs: []string{"serve", "--port", "80"},
		},
		{
			name: "entrypoint and cmd, args: args stay", args: []string{"--once"}, img: Image{Entrypoint: []string{"/entry.sh"}, Cmd: []string{"serve"}},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--", "/entry.sh"}, wantArgs: []string{"--once"},
		},
		{
			name: "cmd only", img: Image{Cmd: []string{"python", "job.py"}},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--"}, wantArgs: []string{"python", "job.py"},
		},
		{
			name: "a $ from the image is escaped for the kubelet", img: Image{Cmd: []string{"sh", "-c", "echo $(HOME) $$"}},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--"}, wantArgs: []string{"sh", "-c", "echo $$(HOME) $$$$"},
		},
		{
			name: "neither, but args: the args run", args: []string{"/bin/job"}, img: Image{},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--"}, wantArgs: []string{"/bin/job"},
		},
		{
			name: "neither and no args: nothing would run, not wrapped", img: Image{Entrypoint: []string{""}},
			wantReason: ReasonNoCommand, wantWarning: `jobcheck: container "main" not wrapped: it has no command and its image "registry.example/team/main:1.0" has neither ENTRYPOINT nor CMD, so it would not start`,
		},
		{
			name: "lookup failed: not wrapped, the error shown", img: Image{Err: "GET https://registry.example/v2/: 401 UNAUTHORIZED"},
			wantReason: ReasonImageLookup, wantWarning: `jobcheck: container "main" not wrapped: it has no command and its image's ENTRYPOINT could not be read (GET https://registry.example/v2/: 401 UNAUTHORIZED); set jobcheck.io/command to its argv as a JSON array`,
		},
		{
			name: "not looked up", noImage: true,
			wantReason: ReasonNoCommand, wantWarning: `it has no command and its image's ENTRYPOINT was not looked up`,
		},
		{
			name: "platforms differ, no args: command is the wrapper, CMD goes in the env", img: Image{Platforms: map[string]Image{
				"linux/amd64": {Entrypoint: []string{"/a"}, Cmd: []string{"x"}}, "linux/arm64/v8": {Entrypoint: []string{"/b"}, Cmd: []string{"a && $b"}},
			}},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--"},
			wantEnv:     `{"linux/amd64":["/a","x"],"linux/arm64/v8":["/b","a && $$b"]}`,
		},
		{
			name: "platforms differ, args: args stay, CMD left out", args: []string{"--once"}, img: Image{Platforms: map[string]Image{
				"linux/amd64": {Entrypoint: []string{"/a"}, Cmd: []string{"x"}}, "linux/arm64": {Entrypoint: []string{"/b"}},
			}},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--"}, wantArgs: []string{"--once"},
			wantEnv: `{"linux/amd64":["/a"],"linux/arm64":["/b"]}`,
		},
		{
			name: "an array override beats the image", img: Image{Entrypoint: []string{"/entry.sh"}}, annotations: []string{contract.AnnotationCommand, `["/override"]`},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--", "/override"},
		},
		{
			name: "an override for this container beats the image, even one that failed", img: Image{Err: "boom"}, annotations: []string{contract.AnnotationCommand, `{"main": ["/override", "-v"]}`},
			wantCommand: []string{"/opt/jobcheck/jobcheck", "run", "--", "/override", "-v"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := container("main")
			c.Args = tt.args
			pod := withAnnotations(jobPod("db-migrate", c), tt.annotations...)
			images := Images{image: tt.img}
			if tt.noImage {
				images = nil
			}
			res := Pod(pod, jobOwner(), images, testConfig())
			if tt.wantReason != "" {
				if res.Injected || res.Reason != tt.wantReason {
					t.Fatalf("Pod = injected %v reason %q, want not injected, %q", res.Injected, res.Reason, tt.wantReason)
				}
				assertWarnings(t, res.Warnings, []string{tt.wantWarning})
				assertSkipped(t, res, []Skip{{Container: "main", Reason: tt.wantReason}})
				return
			}
			if !res.Injected || res.Reason != ReasonInjected || len(res.Warnings) != 0 {
				t.Fatalf("Pod = injected %v reason %q warnings %q, want injected without warning", res.Injected, res.Reason, res.Warnings)
			}
			assertPatch(t, pod, res.Pod)
			w := res.Pod.Spec.Containers[0]
			if !slices.Equal(w.Command, tt.wantCommand) {
				t.Errorf("command = %q, want %q", w.Command, tt.wantCommand)
			}
			if !slices.Equal(w.Args, tt.wantArgs) {
				t.Errorf("args = %q, want %q", w.Args, tt.wantArgs)
			}
			got, ok := envOf(w)["JOBCHECK_ENTRYPOINTS"]
			if got != tt.wantEnv || ok != (tt.wantEnv != "") {
				t.Errorf("JOBCHECK_ENTRYPOINTS = %q (set %v), want %q", got, ok, tt.wantEnv)
			}
		})
	}
}

// TestPodPartial: a pod whose containers are wrapped in part says which were
// not and why, one reason each.
func TestPodPartial(t *testing.T) {
	mounting := container("mounting", "/m")
	mounting.VolumeMounts = append(mounting.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/opt/jobcheck"})
	pod := jobPod("db-migrate", container("ok", "/ok"), container("private"), container("unknown"), mounting, container("looked-up"))
	pod.Spec.Containers[2].Image = "registry.example/team/unknown:1"
	pod.Spec.Containers[4].Image = "registry.example/team/looked-up:1"
	images := Images{
		"registry.example/team/private:1.0": {Err: "401 Unauthorized"},
		"registry.example/team/looked-up:1": {Entrypoint: []string{"/lu"}},
	}
	res := Pod(pod, jobOwner(), images, testConfig())
	if !res.Injected || res.Reason != ReasonPartial {
		t.Fatalf("Pod = injected %v reason %q, want injected, %q", res.Injected, res.Reason, ReasonPartial)
	}
	assertSkipped(t, res, []Skip{
		{Container: "private", Reason: ReasonImageLookup},
		{Container: "unknown", Reason: ReasonNoCommand},
		{Container: "mounting", Reason: ReasonMountConflict},
	})
	assertPatch(t, pod, res.Pod)
	for _, i := range []int{0, 4} {
		c := res.Pod.Spec.Containers[i]
		assertWrapped(t, c)
		if envOf(c)["JOBCHECK_CONTAINER"] != c.Name {
			t.Errorf("container %s: JOBCHECK_CONTAINER = %q with two wrapped", c.Name, envOf(c)["JOBCHECK_CONTAINER"])
		}
	}
}

// TestNeedsImages: exactly the images Pod would use, none for a pod that is
// left alone.
func TestNeedsImages(t *testing.T) {
	two := func() *corev1.Pod {
		p := jobPod("db-migrate", container("cmd", "/cmd"), container("a"), container("b"), container("a-again"))
		p.Spec.Containers[3].Image = p.Spec.Containers[1].Image
		return p
	}
	tests := []struct {
		name  string
		pod   *corev1.Pod
		owner Owner
		want  []string
	}{
		{"containers without command, each image once", two(), jobOwner(),
			[]string{"registry.example/team/a:1.0", "registry.example/team/b:1.0"}},
		{"not enabled", two(), Owner{JobName: "db-migrate"}, nil},
		{"already injected", withAnnotations(two(), contract.AnnotationInjected, "v1"), jobOwner(), nil},
		{"bad annotation", withAnnotations(two(), contract.AnnotationMaxAge, "soon"), jobOwner(), nil},
		{"array override: no image needed", withAnnotations(two(), contract.AnnotationCommand, `["/x"]`), jobOwner(), nil},
		{"object override for one container", withAnnotations(two(), contract.AnnotationCommand, `{"b": ["/x"]}`), jobOwner(),
			[]string{"registry.example/team/a:1.0"}},
		{"containers annotation", withAnnotations(two(), contract.AnnotationContainers, "cmd,b"), jobOwner(),
			[]string{"registry.example/team/b:1.0"}},
		{"every container has a command", jobPod("db-migrate", container("cmd", "/cmd")), jobOwner(), nil},
		{"a Windows pod", func() *corev1.Pod { p := two(); p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}; return p }(), jobOwner(), nil},
		{"mount conflict", func() *corev1.Pod {
			p := two()
			p.Spec.Containers[2].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/opt/jobcheck"}}
			return p
		}(), jobOwner(), []string{"registry.example/team/a:1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NeedsImages(tt.pod, tt.owner, testConfig())
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("NeedsImages = %q, want %q", got, tt.want)
			}
			// what NeedsImages lists is what Pod looks up: with each one
			// answered, every selected container is wrapped
			images := Images{}
			for _, img := range got {
				images[img] = Image{Entrypoint: []string{"/from-" + img}}
			}
			res := Pod(tt.pod, tt.owner, images, testConfig())
			for _, k := range res.Skipped {
				if k.Reason == ReasonNoCommand {
					t.Errorf("container %s skipped for no command though NeedsImages was answered", k.Container)
				}
			}
		})
	}
}

// TestPodReportAndVersion: the report mode reaches the agent only when it
// is not the default, the version always.
func TestPodReportAndVersion(t *testing.T) {
	for _, report := range []string{"", contract.ReportRun, contract.ReportAttempt} {
		t.Run(fmt.Sprintf("report=%q", report), func(t *testing.T) {
			cfg := testConfig()
			cfg.Report = report
			res := Pod(jobPod("db-migrate", container("migrate", "/migrate")), jobOwner(), nil, cfg)
			if !res.Injected {
				t.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
			}
			env := envOf(res.Pod.Spec.Containers[0])
			got, ok := env["JOBCHECK_REPORT"]
			if want := report == contract.ReportAttempt; ok != want || (ok && got != contract.ReportAttempt) {
				t.Errorf("JOBCHECK_REPORT = %q (set %v), want set only for attempt", got, ok)
			}
			if env["JOBCHECK_INJECTED"] != "v1.2.3" {
				t.Errorf("JOBCHECK_INJECTED = %q, want the version", env["JOBCHECK_INJECTED"])
			}
		})
	}
}
