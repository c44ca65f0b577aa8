//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// Issue 9: containers that set no command are wrapped from their image's
// ENTRYPOINT and CMD, read from registries that need credentials or a private
// CA, and from a multi-arch index whose platforms run different commands. Each
// wrapped process sees exactly the argv and ends with exactly the exit code it
// has without jobcheck: the same Job runs in a namespace without injection, and
// the two are compared container by container.
func TestZeroChangeWrapping(t *testing.T) {
	t.Parallel()
	argv := func(s ...string) []string { return append([]string{"/argv"}, s...) }
	arch := runtime.GOARCH
	// One container per way a container can leave its command to its image.
	containers := []struct {
		name  string
		image string   // repository in the registry
		args  []string // the container's args; it never sets command
		exit  string   // ARGV_EXIT
		want  []string // what Kubernetes runs (checked on the uninjected twin)
		multi bool     // a multi-arch index whose platforms disagree
	}{
		{"args", "jobcheck/e2e-argv-entrypoint", []string{"from-args"}, "0", argv("from-entrypoint", "from-args"), false},
		{"neither", "jobcheck/e2e-argv-entrypoint", nil, "3", argv("from-entrypoint", "from-cmd"), false},
		{"cmd-only", "jobcheck/e2e-argv-cmd", nil, "0", argv("only-cmd"), false},
		{"multiarch", "jobcheck/e2e-argv-multiarch", nil, "5", argv("entrypoint-"+arch, "cmd-"+arch), true},
		// The kubelet expands $(VAR) in args as ever: jobcheck leaves them alone.
		{"multiarch-args", "jobcheck/e2e-argv-multiarch", []string{"x", "$(ARGV_EXIT)"}, "0", argv("entrypoint-"+arch, "x", "0"), true},
	}
	for _, reg := range []struct {
		name   string
		images map[string]string
		secret bool // the registry wants credentials: a pull secret
	}{
		{"credentials", env.AuthImages, true},
		{"private-CA", env.TLSImages, false},
	} {
		t.Run(reg.name, func(t *testing.T) {
			t.Parallel()
			on := namespace(t, "zc-"+strings.ToLower(reg.name), true, nil)
			off := namespace(t, "zc-"+strings.ToLower(reg.name)+"-off", false, nil)
			tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, HostNetwork: true,
				TerminationGracePeriodSeconds: ptr(int64(5)),
			}}
			if reg.secret {
				tmpl.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
			}
			for _, c := range containers {
				ref := reg.images[c.image]
				if ref == "" {
					t.Fatalf("test setup: no image %s in the %s registry: %v", c.image, reg.name, reg.images)
				}
				tmpl.Spec.Containers = append(tmpl.Spec.Containers, corev1.Container{
					Name: c.name, Image: ref, Args: c.args, ImagePullPolicy: corev1.PullIfNotPresent,
					Env: []corev1.EnvVar{{Name: "ARGV_EXIT", Value: c.exit}},
				})
			}
			pods := map[string]corev1.Pod{}
			for _, ns := range []string{on, off} {
				if reg.secret {
					pullSecret(t, ns, "regcred", env.AuthRegistry.Addr, env.RegistryUser, env.RegistryPassword)
				}
				job := createJob(t, &batchv1.Job{
					ObjectMeta: metav1.ObjectMeta{Name: "argv", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
					Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: *tmpl.DeepCopy()},
				})
				waitJob(t, job, batchv1.JobFailed) // two containers exit non-zero
				pods[ns] = jobPods(t, job, 1)[0]
			}
			wrapped, plain := pods[on], pods[off]
			assertNotInjected(t, plain)
			if _, ok := wrapped.Annotations[annInjected]; !ok {
				t.Fatalf("pod %s/%s not injected: %s", on, wrapped.Name, describeJob(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "argv", Namespace: on}}))
			}
			for i, c := range containers {
				t.Run(c.name, func(t *testing.T) {
					spec := wrapped.Spec.Containers[i]
					if len(spec.Command) < 3 || !slices.Equal(spec.Command[:3], []string{AgentPath, CommandRun, "--"}) {
						t.Fatalf("command %q: the agent is not in front", spec.Command)
					}
					entrypoints := envValue(spec, "JOBCHECK_ENTRYPOINTS")
					if c.multi != (entrypoints != "") {
						t.Errorf("JOBCHECK_ENTRYPOINTS=%q for a multi-arch image whose platforms disagree: %v", entrypoints, c.multi)
					}
					if !c.multi {
						// What the pod spec says the wrapper runs: the image's argv.
						if got := append(slices.Clone(spec.Command[3:]), spec.Args...); !slices.Equal(got, c.want) {
							t.Errorf("pod spec runs %q after the agent, want %q", got, c.want)
						}
					}
					gotArgv, gotExit := argvRun(t, &wrapped, c.name)
					wantArgv, wantExit := argvRun(t, &plain, c.name)
					if !slices.Equal(wantArgv, c.want) {
						t.Errorf("test setup: without jobcheck the container runs %q, the test expects %q", wantArgv, c.want)
					}
					if !slices.Equal(gotArgv, wantArgv) || gotExit != wantExit {
						t.Errorf("wrapped: argv %q exit %d; without jobcheck: argv %q exit %d", gotArgv, gotExit, wantArgv, wantExit)
					}
					reason := ReasonSucceeded
					if wantExit != 0 {
						reason = ReasonFailed
					}
					key := map[string]string{LabelJob: "argv", LabelNamespace: on, LabelContainer: c.name}
					g := groupBy(t, key, "the attempt of container "+c.name, func(g *cluster.Group) bool {
						v, ok := g.Value(MetricLastAttemptInfo, map[string]string{LabelReason: reason})
						return ok && v == 1
					})
					if v := value(t, g, MetricLastAttemptExitCode, nil); v != float64(wantExit) {
						t.Errorf("%s = %v, want %d", MetricLastAttemptExitCode, v, wantExit)
					}
				})
			}
		})
	}
}

// Issue 9: a registry that refuses the pod's credentials, one that is down and one
// that does not answer: the pod is still created, in time (the API server did not
// give up on the webhook: its fail-open count for jobcheck does not move), left
// unwrapped, and a Warning Event on the Job says which container and why. Not in
// parallel with the other scenarios, so that nothing else moves that count.
func TestImageLookupFailuresAreVisible(t *testing.T) {
	// A repository of its own in the registry that needs credentials: a tag
	// another scenario looked up with the right ones is cached, whoever asks.
	refused := cluster.ArgvEntrypointImage(filepath.Join(env.Root, "test", "e2e", "bin", "argv"))
	refused.Repo = "jobcheck/e2e-argv-refused"
	refs, err := env.AuthRegistry.Push(refused)
	if err != nil {
		t.Fatal(err)
	}
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	down := fmt.Sprintf("127.0.0.1:%d", cluster.FreePort())

	ns := namespace(t, "zc-lookup-fails", true, nil)
	pullSecret(t, ns, "wrong", env.AuthRegistry.Addr, env.RegistryUser, "not-"+env.RegistryPassword)
	failOpenBefore := apiServerFailOpen(t)
	skipped := map[string]string{LabelResult: "skipped", LabelReason: "image-lookup"}
	skippedBefore := webhookCount(t, MetricWebhookAdmissions, skipped)
	for _, c := range []struct {
		name, image string
		secret      string
		why         string // in the Event's message
	}{
		{"refused", refs[refused.Repo], "wrong", "UNAUTHORIZED"},
		{"down", down + "/jobcheck/e2e-argv-entrypoint:e2e", "", "connection refused"},
		{"silent", silent.Addr().String() + "/jobcheck/e2e-argv-entrypoint:e2e", "", "did not answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, TerminationGracePeriodSeconds: ptr(int64(1)),
				Containers: []corev1.Container{{Name: "app", Image: c.image, ImagePullPolicy: corev1.PullIfNotPresent}},
			}}
			if c.secret != "" {
				tmpl.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: c.secret}}
			}
			job := createJob(t, &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
				Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: tmpl},
			})
			assertNotInjected(t, jobPods(t, job, 1)[0])
			ev := waitEvent(t, ns, "Job", c.name, string(job.UID), eventNotMonitored)
			for _, want := range []string{`container "app" not wrapped`, c.why, "jobcheck.io/command"} {
				if !strings.Contains(ev.Message, want) {
					t.Errorf("Event %s on Job %s: %q does not say %q", ev.Reason, c.name, ev.Message, want)
				}
			}
			if ev.Type != corev1.EventTypeWarning {
				t.Errorf("Event type %s, want Warning", ev.Type)
			}
		})
	}
	if after := apiServerFailOpen(t); after != failOpenBefore {
		t.Errorf("the API server's fail-open count for pods.jobcheck.io went from %v to %v: an admission was not answered in time", failOpenBefore, after)
	}
	if n := webhookCount(t, MetricWebhookAdmissions, skipped) - skippedBefore; n != 3 {
		t.Errorf("the webhook counts %v admissions skipped for image-lookup, want the 3 pods'", n)
	}
}

// webhookCount sums a counter of the harness's (first) webhook replica.
func webhookCount(t *testing.T, metric string, labels map[string]string) float64 {
	t.Helper()
	m, err := env.Webhook.ReplicaMetrics(ctxFor(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := m.Sum(metric, labels)
	return n
}

// eventNotMonitored is the reason of the webhook's Event for an opted-in pod it
// admitted unmonitored (docs/webhook.md).
const eventNotMonitored = "JobcheckNotMonitored"

// pullSecret creates a kubernetes.io/dockerconfigjson Secret for registry.
func pullSecret(t *testing.T, ns, name, registry, user, password string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{registry: map[string]string{
		"username": user, "password": password, "auth": auth}}})
	_, err := env.Client.CoreV1().Secrets(ns).Create(ctxFor(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pull secret %s/%s: %v", ns, name, err)
	}
}

// argvRun returns what cmd/argv printed in a terminated container (`argv: [...]`)
// and the container's exit code.
func argvRun(t *testing.T, pod *corev1.Pod, container string) ([]string, int32) {
	t.Helper()
	var exit *int32
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == container && s.State.Terminated != nil {
			exit = &s.State.Terminated.ExitCode
		}
	}
	if exit == nil {
		t.Fatalf("pod %s/%s: container %s has not terminated: %+v", pod.Namespace, pod.Name, container, pod.Status.ContainerStatuses)
	}
	log, err := env.ContainerLog(pod, container)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(log, "\n") {
		if rest, ok := strings.CutPrefix(line, "argv: "); ok {
			var argv []string
			if err := json.Unmarshal([]byte(rest), &argv); err != nil {
				t.Fatalf("pod %s/%s container %s: %q: %v", pod.Namespace, pod.Name, container, line, err)
			}
			return argv, *exit
		}
	}
	t.Fatalf("pod %s/%s container %s printed no argv line (exit %d):\n%s", pod.Namespace, pod.Name, container, *exit, log)
	return nil, 0
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// waitEvent waits for an Event with reason on the object (kind, name, and uid when
// not empty, as `kubectl describe` selects them) and returns it.
func waitEvent(t *testing.T, ns, kind, name, uid, reason string) corev1.Event {
	t.Helper()
	ctx := ctxFor(t)
	var got corev1.Event
	var seen []string
	err := cluster.Poll(ctx, fmt.Sprintf("Event %s on %s %s/%s", reason, kind, ns, name), limit, func() (bool, error) {
		evs, err := objectEvents(ctx, ns, kind, name, uid)
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, e := range evs {
			seen = append(seen, e.Reason+": "+e.Message)
			if e.Reason == reason {
				got = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%v; its Events: %q", err, seen)
	}
	return got
}

// objectEvents lists the Events about one object, selected as `kubectl describe`
// does: kind, name, namespace and (when uid is not empty) uid.
func objectEvents(ctx context.Context, ns, kind, name, uid string) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "involvedObject.namespace": ns}
	if uid != "" {
		sel["involvedObject.uid"] = uid
	}
	l, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// apiServerFailOpen is the API server's count of calls to the webhook pods.jobcheck.io
// that it gave up on and admitted unmutated (failurePolicy Ignore).
func apiServerFailOpen(t *testing.T) float64 {
	t.Helper()
	b, err := env.APIGet(ctxFor(t), "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, err := cluster.ParseMetrics(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := m.Sum("apiserver_admission_webhook_fail_open_count", map[string]string{"name": "pods.jobcheck.io"})
	return n
}
