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
	"slices"
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

// failingName is the demo's second CronJob: the example with a command that fails.
const failingName = "nightly-export"

// demo shows jobcheck's loop end to end on the local cluster: the shipped example
// CronJob (manifests/examples/cronjob.yaml) and a copy of it whose command fails, in a
// labelled namespace, one run of each, what the webhook added to a pod, what the runs
// pushed, and the alerts a real Prometheus evaluating the shipped rules fires (sent to
// a real Alertmanager when Debian's is installed).
func demo(ctx context.Context, dir, root string, log *slog.Logger, out io.Writer) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("repository root: %w", err)
	}
	e, err := up(ctx, dir, root, log, out)
	if err != nil {
		return err
	}
	cs := e.Client
	ok, err := exampleCronJob(root, e.Images["jobcheck/e2e-busybox"])
	if err != nil {
		return err
	}
	bad := failingCronJob(ok)
	mon, err := monitoring(ctx, e, root, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n1. label namespace %q with jobcheck.io/injection=enabled\n", demoNS)
	if err := labelledNamespace(ctx, cs, demoNS); err != nil {
		return err
	}
	fmt.Fprintf(out, "2. create CronJob %s/%s from manifests/examples/cronjob.yaml (annotated jobcheck.io/enabled=\"true\" on the CronJob only)\n", demoNS, ok.Name)
	fmt.Fprintf(out, "   and CronJob %s/%s, the same with a command that exits 3 (backoffLimit 0)\n", demoNS, bad.Name)
	fmt.Fprintf(out, "   local changes: image %s, hostNetwork: true (the demo's Pushgateway listens on 127.0.0.1)\n", ok.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image)
	var cjs []*batchv1.CronJob
	for _, cj := range []*batchv1.CronJob{ok, bad} {
		_ = cs.BatchV1().CronJobs(demoNS).Delete(ctx, cj.Name, metav1.DeleteOptions{})
		created, err := cs.BatchV1().CronJobs(demoNS).Create(ctx, cj, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create CronJob %s: %w", cj.Name, err)
		}
		cjs = append(cjs, created)
	}
	stamp := time.Now().Unix()
	var jobs []*batchv1.Job
	for _, cj := range cjs {
		job := jobFromCronJob(cj, fmt.Sprintf("%s-demo-%d", cj.Name, stamp))
		if job, err = cs.BatchV1().Jobs(demoNS).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create Job: %w", err)
		}
		jobs = append(jobs, job)
	}
	fmt.Fprintf(out, "3. run both now: Jobs %s and %s (like `kubectl create job --from=cronjob/NAME`); waiting for them to end ...\n", jobs[0].Name, jobs[1].Name)
	for i, want := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		got, err := waitJobEnd(ctx, cs, jobs[i])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "   %s: %s\n", jobs[i].Name, got)
		if got != want {
			return fmt.Errorf("job %s ended %s, want %s", jobs[i].Name, got, want)
		}
	}
	pods, err := cs.CoreV1().Pods(demoNS).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + jobs[0].Name})
	if err != nil || len(pods.Items) == 0 {
		return fmt.Errorf("list the run's pods: %v", err)
	}
	pod := &pods.Items[0]
	fmt.Fprintf(out, "\n4. what jobcheck added to pod %s (the CronJob's own spec is unchanged):\n\n", pod.Name)
	b, err := yaml.Marshal(injectedParts(pod))
	if err != nil {
		return fmt.Errorf("show pod: %w", err)
	}
	fmt.Fprintln(out, indent(string(b)))
	pg := e.Extra["pushgateway"]
	for _, cj := range cjs {
		fmt.Fprintf(out, "5. what was pushed to the Pushgateway for %s (%s/metrics, job=%q, namespace=%q):\n\n", cj.Name, pg, cj.Name, demoNS)
		metrics, err := pushedMetrics(ctx, pg, cj.Name)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, indent(metrics))
	}
	fmt.Fprintf(out, "6. the alerts: Prometheus evaluates manifests/prometheus/rules.yaml; JobcheckJobFailed holds for 1m before it fires. Waiting ...\n\n")
	firing, err := waitAlert(ctx, mon, "JobcheckJobFailed", bad.Name)
	if err != nil {
		return err
	}
	for _, a := range firing {
		fmt.Fprintf(out, "    %-8s %-34s %s\n", a.State, a.Labels["alertname"], alertWhat(a))
	}
	if !slices.ContainsFunc(firing, func(a cluster.Alert) bool { return a.Labels["job"] == ok.Name }) {
		fmt.Fprintf(out, "    (nothing for %s: its run succeeded)\n", ok.Name)
	}
	if mon.am != nil {
		got, err := waitAlertmanager(ctx, mon.am, "JobcheckJobFailed", bad.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n   Alertmanager received them (it notifies no one here):\n")
		for _, a := range got {
			fmt.Fprintf(out, "    %-8s %-34s %s\n", a.State, a.Labels["alertname"], alertWhat(a))
		}
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(out, `
7. look around (the cluster keeps running):
     Pushgateway   %s
     Prometheus    %s/alerts   (%s/graph?g0.expr=jobcheck_last_run_info)
`, pg, mon.prometheus.URL, mon.prometheus.URL)
	if mon.am != nil {
		fmt.Fprintf(out, "     Alertmanager  %s\n", mon.am.URL)
	} else {
		fmt.Fprintf(out, "     (no Alertmanager: install Debian's prometheus-alertmanager, hack/deps.sh all)\n")
	}
	fmt.Fprintf(out, `     export KUBECONFIG=%s
     export PATH=%s:$PATH   # kubectl %s, built with the cluster
     kubectl get cronjobs,jobs,pods -n %s
     kubectl get pod -n %s %s -o yaml
     kubectl describe cronjob -n %s %s
     curl -s %s/metrics | grep jobcheck_        # the Pushgateway
     kubectl create job --from=cronjob/%s -n %s again   # another run
   component logs: %s/logs/   pod output: %s/pod-logs/ (kubectl logs does not work on a loopback node)
   tear it down: make demo-down
`, e.Kubeconfig, filepath.Join(root, "test", "e2e", "bin"), serverVersion(cs), demoNS, demoNS, pod.Name, demoNS, bad.Name,
		pg, ok.Name, demoNS, abs, abs)
	return nil
}

// monitor is the demo's Prometheus and, when installed, Alertmanager.
type monitor struct {
	prometheus *cluster.Prometheus
	am         *cluster.Alertmanager
}

// monitoring starts Prometheus (with the shipped rules, scraping the Pushgateway,
// the webhook and the API server) and Alertmanager, or finds the ones an earlier
// `make demo` started.
func monitoring(ctx context.Context, e *cluster.Env, root string, out io.Writer) (monitor, error) {
	var m monitor
	if u := e.Extra["prometheus"]; u != "" {
		m.prometheus = &cluster.Prometheus{URL: u}
		if a := e.Extra["alertmanager"]; a != "" {
			m.am = &cluster.Alertmanager{URL: a, Addr: strings.TrimPrefix(a, "http://")}
		}
		return m, nil
	}
	var amAddr string
	if cluster.HasAlertmanager() {
		am, err := e.StartAlertmanager(ctx)
		if err != nil {
			return m, err
		}
		m.am, amAddr = am, am.Addr
	}
	p, err := e.StartPrometheus(ctx, cluster.PrometheusOptions{
		Pushgateway:  e.Extra["pushgateway"],
		Webhooks:     []string{strings.TrimPrefix(e.Extra["webhook-metrics"], "http://")},
		APIServer:    true,
		RuleFiles:    []string{filepath.Join(root, "manifests", "prometheus", "rules.yaml")},
		Alertmanager: amAddr,
	})
	if err != nil {
		return m, err
	}
	m.prometheus = p
	fmt.Fprintf(out, "Prometheus %s evaluates manifests/prometheus/rules.yaml", p.URL)
	if m.am != nil {
		fmt.Fprintf(out, " and sends its alerts to Alertmanager %s", m.am.URL)
	}
	fmt.Fprintln(out)
	return m, nil
}

// waitJobEnd waits for the Job's Complete or Failed condition.
func waitJobEnd(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job) (batchv1.JobConditionType, error) {
	var end batchv1.JobConditionType
	err := cluster.Poll(ctx, "Job "+job.Name+" to end", 5*time.Minute, func() (bool, error) {
		j, err := cs.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				end = c.Type
				return true, nil
			}
		}
		return false, nil
	})
	return end, err
}

// waitAlert waits until Prometheus fires alert for job in the demo namespace and
// returns every alert about the demo namespace then.
func waitAlert(ctx context.Context, m monitor, alert, job string) ([]cluster.Alert, error) {
	var mine []cluster.Alert
	err := cluster.Poll(ctx, alert+" for "+job, 5*time.Minute, func() (bool, error) {
		all, err := m.prometheus.Alerts(ctx)
		if err != nil {
			return false, nil
		}
		mine = mine[:0]
		found := false
		for _, a := range all {
			if a.Labels["namespace"] != demoNS {
				continue
			}
			mine = append(mine, a)
			found = found || (a.Labels["alertname"] == alert && a.Labels["job"] == job && a.State == "firing")
		}
		return found, nil
	})
	return mine, err
}

// waitAlertmanager waits until Alertmanager holds alert for job and returns what it
// holds about the demo namespace.
func waitAlertmanager(ctx context.Context, am *cluster.Alertmanager, alert, job string) ([]cluster.Alert, error) {
	var mine []cluster.Alert
	err := cluster.Poll(ctx, "Alertmanager to receive "+alert+" for "+job, 2*time.Minute, func() (bool, error) {
		all, err := am.Alerts(ctx)
		if err != nil {
			return false, nil
		}
		mine = mine[:0]
		found := false
		for _, a := range all {
			if a.Labels["namespace"] == demoNS {
				mine = append(mine, a)
				found = found || (a.Labels["alertname"] == alert && a.Labels["job"] == job)
			}
		}
		return found, nil
	})
	return mine, err
}

// alertWhat is an alert's workload labels and summary, on one line.
func alertWhat(a cluster.Alert) string {
	var labels []string
	for _, k := range []string{"namespace", "job", "reason", "severity"} {
		if v := a.Labels[k]; v != "" {
			labels = append(labels, k+"="+v)
		}
	}
	return strings.Join(labels, " ") + ": " + a.Annotations["summary"]
}

// failingCronJob is the example CronJob renamed, with a command that fails at once.
func failingCronJob(example *batchv1.CronJob) *batchv1.CronJob {
	cj := example.DeepCopy()
	cj.Name = failingName
	spec := &cj.Spec.JobTemplate.Spec
	spec.BackoffLimit = ptrTo(int32(0))
	c := &spec.Template.Spec.Containers[0]
	c.Args = []string{`echo "exporting"; echo "export failed: the database did not answer" >&2; exit 3`}
	return cj
}

func ptrTo[T any](v T) *T { return &v }

func envFromState(c *cluster.Cluster, root string) (*cluster.Env, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("no kubeconfig in %s", c.Dir)
	}
	e := &cluster.Env{Cluster: c, Root: root, Images: map[string]string{}}
	for _, repo := range []string{"jobcheck/e2e-busybox", "jobcheck/e2e-pause"} {
		e.Images[repo] = c.Registry + "/" + repo + ":" + cluster.Tag
	}
	built, err := cluster.LayoutImages(filepath.Join(root, cluster.LayoutDir))
	if err != nil {
		return nil, err
	}
	for _, b := range built {
		e.Images[b.Key] = b.Ref(c.Registry)
	}
	e.Built = built
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
