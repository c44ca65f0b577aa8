package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

const demoNS = "example"

// demo shows jobcheck work end to end on the local cluster: the shipped example
// CronJob (manifests/examples/cronjob.yaml) in a labelled namespace, one run of it,
// what the webhook added to its pod and what the run pushed.
func demo(ctx context.Context, dir, root string, log *slog.Logger, out io.Writer) error {
	e, err := up(ctx, dir, root, log, out)
	if err != nil {
		return err
	}
	cs := e.Client
	cj, err := exampleCronJob(root, e.Images["jobcheck/e2e-busybox"])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n1. label namespace %q with jobcheck.io/injection=enabled\n", demoNS)
	if err := labelledNamespace(ctx, cs, demoNS); err != nil {
		return err
	}
	fmt.Fprintf(out, "2. create CronJob %s/%s from manifests/examples/cronjob.yaml (annotated jobcheck.io/enabled=\"true\" on the CronJob only)\n", demoNS, cj.Name)
	fmt.Fprintf(out, "   local changes: image %s, hostNetwork: true (the demo's Pushgateway listens on 127.0.0.1)\n", cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image)
	_ = cs.BatchV1().CronJobs(demoNS).Delete(ctx, cj.Name, metav1.DeleteOptions{})
	if cj, err = cs.BatchV1().CronJobs(demoNS).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create CronJob: %w", err)
	}
	job := jobFromCronJob(cj, fmt.Sprintf("%s-demo-%d", cj.Name, time.Now().Unix()))
	fmt.Fprintf(out, "3. run it now: Job %s (like `kubectl create job --from=cronjob/%s`); waiting for it to complete ...\n", job.Name, cj.Name)
	if job, err = cs.BatchV1().Jobs(demoNS).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Job: %w", err)
	}
	var pod *corev1.Pod
	if err := cluster.Poll(ctx, "Job "+job.Name+" to complete", 5*time.Minute, func() (bool, error) {
		j, err := cs.BatchV1().Jobs(demoNS).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				return false, fmt.Errorf("job failed: %s", c.Message)
			}
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods(demoNS).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job.Name})
	if err != nil || len(pods.Items) == 0 {
		return fmt.Errorf("list the run's pods: %v", err)
	}
	pod = &pods.Items[0]
	fmt.Fprintf(out, "\n4. what jobcheck added to pod %s (the CronJob's own spec is unchanged):\n\n", pod.Name)
	b, err := yaml.Marshal(injectedParts(pod))
	if err != nil {
		return fmt.Errorf("show pod: %w", err)
	}
	fmt.Fprintln(out, indent(string(b)))
	pg := e.Extra["pushgateway"]
	fmt.Fprintf(out, "5. what the run pushed to the Pushgateway (%s/metrics, group job=%q, namespace=%q):\n\n", pg, cj.Name, demoNS)
	metrics, err := pushedMetrics(ctx, pg, cj.Name)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, indent(metrics))
	abs, _ := filepath.Abs(dir)
	rootAbs, _ := filepath.Abs(root)
	fmt.Fprintf(out, `6. look around (the cluster keeps running):
     export KUBECONFIG=%s
     export PATH=%s:$PATH   # kubectl %s, built with the cluster
     kubectl get cronjobs,jobs,pods -n %s
     kubectl get pod -n %s %s -o yaml
     curl -s %s/metrics | grep jobcheck_        # the Pushgateway
     kubectl create job --from=cronjob/%s -n %s again   # another run
   component logs: %s/logs/   pod output: %s/pod-logs/ (kubectl logs does not work on a loopback node)
   tear it down: make demo-down
`, e.Kubeconfig, filepath.Join(rootAbs, "test", "e2e", "bin"), serverVersion(cs), demoNS, demoNS, pod.Name, pg, cj.Name, demoNS, abs, abs)
	return nil
}

func envFromState(c *cluster.Cluster) (*cluster.Env, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("no kubeconfig in %s", c.Dir)
	}
	e := &cluster.Env{Cluster: c, Images: map[string]string{}}
	for _, repo := range []string{"jobcheck/agent", "jobcheck/webhook", "jobcheck/e2e-busybox", "jobcheck/e2e-pause"} {
		e.Images[repo] = c.Registry + "/" + repo + ":" + cluster.Tag
	}
	return e, nil
}

// exampleCronJob reads the shipped example and points it at the local image.
func exampleCronJob(root, image string) (*batchv1.CronJob, error) {
	path := filepath.Join(root, "manifests", "examples", "cronjob.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read example CronJob: %w", err)
	}
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict(b, &cj); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	cj.Namespace = demoNS
	spec := &cj.Spec.JobTemplate.Spec.Template.Spec
	spec.HostNetwork = true
	for i := range spec.Containers {
		spec.Containers[i].Image = image
	}
	return &cj, nil
}

func labelledNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if ns, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	} else if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels["jobcheck.io/injection"] = "enabled"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("label namespace %s: %w", name, err)
	}
	// Pods wait for the namespace's default ServiceAccount.
	return cluster.Poll(ctx, "default ServiceAccount in "+name, time.Minute, func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

// jobFromCronJob is what `kubectl create job --from=cronjob/NAME` creates.
func jobFromCronJob(cj *batchv1.CronJob, name string) *batchv1.Job {
	t := true
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cj.Namespace,
			Labels:      cj.Spec.JobTemplate.Labels,
			Annotations: map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob",
				Name: cj.Name, UID: cj.UID, Controller: &t, BlockOwnerDeletion: &t}},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
}

// injectedParts keeps the parts of a pod that jobcheck adds or changes: its marker,
// volume, init container, and per container the command, JOBCHECK_* environment,
// probe, preStop hook and mount (the service account volume and the like are left out).
func injectedParts(p *corev1.Pod) map[string]any {
	var volumes []corev1.Volume
	for _, v := range p.Spec.Volumes {
		if v.Name == "jobcheck" {
			volumes = append(volumes, v)
		}
	}
	var inits []corev1.Container
	for _, c := range p.Spec.InitContainers {
		if c.Name == "jobcheck-install" {
			c.VolumeMounts = jobcheckMounts(c.VolumeMounts)
			c.TerminationMessagePath, c.TerminationMessagePolicy = "", ""
			inits = append(inits, c)
		}
	}
	var containers []map[string]any
	for _, c := range p.Spec.Containers {
		var env []corev1.EnvVar
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "JOBCHECK_") {
				env = append(env, e)
			}
		}
		containers = append(containers, map[string]any{
			"name": c.Name, "command": c.Command, "args": c.Args, "env": env,
			"livenessProbe": c.LivenessProbe, "lifecycle": c.Lifecycle, "volumeMounts": jobcheckMounts(c.VolumeMounts),
		})
	}
	return map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{"jobcheck.io/injected": p.Annotations["jobcheck.io/injected"]}},
		"spec":     map[string]any{"volumes": volumes, "initContainers": inits, "containers": containers},
	}
}

func jobcheckMounts(ms []corev1.VolumeMount) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, m := range ms {
		if m.Name == "jobcheck" {
			out = append(out, m)
		}
	}
	return out
}

// pushedMetrics returns the jobcheck_ lines of the Pushgateway's /metrics for one job.
func pushedMetrics(ctx context.Context, pg, job string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pg+"/metrics", nil)
	if err != nil {
		return "", fmt.Errorf("pushgateway request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read pushgateway metrics: %w", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "jobcheck_") && strings.Contains(l, `job="`+job+`"`) {
			b.WriteString(l + "\n")
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("the Pushgateway at %s holds no jobcheck_ metrics for job %q", pg, job)
	}
	return b.String(), nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func serverVersion(cs kubernetes.Interface) string {
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return ""
	}
	return v.GitVersion
}
