package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
	"github.com/jobcheck/jobcheck/kubetest"
	"github.com/jobcheck/jobcheck/webhook"
)

func TestAdmissionFlags(t *testing.T) {
	cases := []struct {
		args  []string
		want  kubeAPILimits
		code  int    // of parseFlags: 2 for a flag that does not parse
		error string // of the check, naming the flag
	}{
		{args: nil, want: kubeAPILimits{QPS: 50, Burst: 100}},
		{args: []string{"--kube-api-qps=200", "--kube-api-burst=400"}, want: kubeAPILimits{QPS: 200, Burst: 400}},
		{args: []string{"--kube-api-qps=0.5", "--kube-api-burst=1"}, want: kubeAPILimits{QPS: 0.5, Burst: 1}},
		{args: []string{"--kube-api-qps=0"}, error: "--kube-api-qps 0: want"},
		{args: []string{"--kube-api-qps=-1"}, error: "--kube-api-qps -1: want"},
		{args: []string{"--kube-api-qps=NaN"}, error: "--kube-api-qps NaN: want"},
		{args: []string{"--kube-api-qps=1e300"}, error: "--kube-api-qps 1e+300: want"},
		{args: []string{"--kube-api-burst=0"}, error: "--kube-api-burst 0: want 1 or more"},
		{args: []string{"--kube-api-qps=fast"}, code: 2},
	}
	for _, tc := range cases {
		name := strings.Join(tc.args, " ")
		if name == "" {
			name = "defaults"
		}
		t.Run(name, func(t *testing.T) {
			fs := flag.NewFlagSet("jobcheck-webhook serve", flag.ContinueOnError)
			limits := addAdmissionFlags(fs)
			var stderr bytes.Buffer
			code, ok := parseFlags(fs, tc.args, &stderr)
			if tc.code != 0 {
				if ok || code != tc.code || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "kube-api-qps") {
					t.Fatalf("parse: code %d ok %v, stderr %q; want exit %d with one line naming the flag", code, ok, stderr.String(), tc.code)
				}
				return
			}
			if !ok {
				t.Fatalf("parse failed: %s", stderr.String())
			}
			got, err := limits()
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("error %v, want one containing %q", err, tc.error)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("limits %+v, %v; want %+v", got, err, tc.want)
			}
			// The limits reach the clients made from the configuration.
			c := &rest.Config{Host: "https://127.0.0.1:1"}
			got.apply(c)
			c.GroupVersion, c.NegotiatedSerializer = &corev1.SchemeGroupVersion, runtime.NewSimpleNegotiatedSerializer(runtime.SerializerInfo{})
			rc, err := rest.RESTClientFor(c)
			if err != nil {
				t.Fatal(err)
			}
			if q := rc.GetRateLimiter().QPS(); q != tc.want.QPS {
				t.Errorf("client rate limiter at %v requests/s, want %v", q, tc.want.QPS)
			}
		})
	}
}

// TestEventsReachTheAPIServer runs the admission path with the Event
// recorder newEventRecorder makes, against a real kube-apiserver, as a user
// that may only create and patch Events (the RBAC the webhook needs for
// them): two pods of one Job with a bad annotation leave one Warning Event
// on the Job, counted twice, that `kubectl describe job` shows, and the
// same on its CronJob.
func TestEventsReachTheAPIServer(t *testing.T) {
	api := startAdmissionAPI(t)
	admin := api.client(t, api.admin)
	ctx := t.Context()

	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "jobcheck-webhook-events"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}}},
	}, metav1.CreateOptions{}))
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "jobcheck-webhook-events"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "jobcheck-webhook-events"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jobcheck-webhook"}},
	}, metav1.CreateOptions{}))
	must(admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}))
	template := corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "export", Image: "registry.example/export:1", Command: []string{"/export"}}}}}
	cronJob, err := admin.BatchV1().CronJobs("team-a").Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-export", Annotations: map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationMaxAge: "30"}},
		Spec:       batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: new(true), JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := admin.BatchV1().Jobs("team-a").Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-export-29345678", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "CronJob", Name: cronJob.Name, UID: cronJob.UID, Controller: new(true)}}},
		Spec: batchv1.JobSpec{Suspend: new(true), Template: template},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The webhook's side: its own identity, limits and recorder.
	webhookConfig := api.server.User("jobcheck-webhook")
	kubeAPILimits{QPS: defaultKubeAPIQPS, Burst: defaultKubeAPIBurst}.apply(webhookConfig)
	recorder, err := newEventRecorder(ctx, webhookConfig, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg := inject.Defaults()
	cfg.AgentImage = "registry.example/jobcheck/agent:v1"
	owner := inject.Owner{JobName: job.Name, CronJobName: cronJob.Name, CronJobUID: cronJob.UID, CronJobAnnotations: cronJob.Annotations, Schedule: cronJob.Spec.Schedule}
	h := webhook.NewHandler(webhook.Options{
		Inject: cfg, Metrics: webhook.NewMetrics(func() time.Time { return time.Time{} }), Events: recorder,
		Owners: ownerTable{job.Name: owner},
	})
	for _, name := range []string{job.Name + "-abcde", job.Name + "-fghij"} {
		admitPod(t, h, jobPod(name, job))
	}

	// One Event on the Job, counted twice: the second pod's was a PATCH of
	// the first's count, allowed by create and patch alone.
	var ev corev1.Event
	waitForAPI(t, "the Job's Event counted twice", func() bool {
		list, err := admin.CoreV1().Events("team-a").List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "Job", "involvedObject.name": job.Name, "involvedObject.uid": string(job.UID)}.String()})
		if err != nil || len(list.Items) != 1 || list.Items[0].Count != 2 {
			return false
		}
		ev = list.Items[0]
		return true
	})
	if ev.Type != corev1.EventTypeWarning || ev.Reason != webhook.EventNotMonitored || ev.Source.Component != eventComponent ||
		!strings.Contains(ev.Message, `jobcheck.io/max-age="30" on the CronJob`) {
		t.Errorf("Event %s %s from %s: %q; want Warning %s from %s naming the annotation", ev.Type, ev.Reason, ev.Source.Component, ev.Message, webhook.EventNotMonitored, eventComponent)
	}
	if out := api.kubectl(t, "describe", "job", "-n", "team-a", job.Name); !strings.Contains(out, webhook.EventNotMonitored) || !strings.Contains(out, "jobcheck.io/max-age") {
		t.Errorf("kubectl describe job does not show the Event:\n%s", out)
	}

	// The CronJob's Event, as `kubectl events --for` finds it.
	waitForAPI(t, "the CronJob's Event counted twice", func() bool {
		list, err := admin.CoreV1().Events("team-a").List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "CronJob", "involvedObject.apiVersion": "batch/v1", "involvedObject.name": cronJob.Name}.String()})
		return err == nil && len(list.Items) == 1 && list.Items[0].Count == 2 && list.Items[0].Reason == webhook.EventNotMonitored
	})
	if out := api.kubectl(t, "events", "-n", "team-a", "--for", "cronjob/"+cronJob.Name); !strings.Contains(out, webhook.EventNotMonitored) {
		t.Errorf("kubectl events --for cronjob does not show the Event:\n%s", out)
	}
	t.Run("kubectl describe cronjob", func(t *testing.T) {
		if out := api.kubectl(t, "describe", "cronjob", "-n", "team-a", cronJob.Name); !strings.Contains(out, webhook.EventNotMonitored) {
			t.Errorf("kubectl describe cronjob does not show the Event:\n%s", out)
		}
	})
}

// ownerTable answers owner lookups from a table (the owner cache is tested
// in package webhook and its own tests).
type ownerTable map[string]inject.Owner

func (o ownerTable) Lookup(_ context.Context, namespace string, ref metav1.OwnerReference) (inject.Owner, error) {
	if owner, ok := o[ref.Name]; ok {
		return owner, nil
	}
	return inject.Owner{}, fmt.Errorf("job %s/%s not found", namespace, ref.Name)
}

// jobPod is a pod of job as the Job controller creates it.
func jobPod(name string, job *batchv1.Job) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: job.Namespace, OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec:       *job.Spec.Template.Spec.DeepCopy(),
	}
	return pod
}

// admitPod sends the admission of pod's creation to h.
func admitPod(t *testing.T, h http.Handler, pod *corev1.Pod) {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("u-" + pod.Name), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: pod.Namespace,
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
		t.Fatalf("admission: %d %s", rec.Code, rec.Body.Bytes())
	}
}

// admissionAPI is a real etcd and kube-apiserver for this file's tests
// (package kubetest). Token users: admin (system:masters) and
// jobcheck-webhook (no rights but those a test binds).
type admissionAPI struct {
	server *kubetest.Server
	admin  *rest.Config
}

// startAdmissionAPI starts the API server for t and stops it when t ends;
// the test is skipped when the binaries are not on this machine.
func startAdmissionAPI(t *testing.T) *admissionAPI {
	t.Helper()
	if _, _, err := kubetest.Binaries(); err != nil {
		kubetest.Unavailable(t, err)
	}
	s, err := kubetest.Start(t.TempDir(), "jobcheck-webhook")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return &admissionAPI{server: s, admin: s.Config}
}

func (a *admissionAPI) client(t *testing.T, c *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// kubectl runs test/e2e/bin/kubectl as admin and returns its output.
func (a *admissionAPI) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "..", "test", "e2e", "bin", "kubectl"), append([]string{"--kubeconfig", a.server.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitForAPI polls cond until it holds, for at most two minutes (a bound on
// waiting for the API server, not a timing assertion).
func waitForAPI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
