package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkAdmission is one full admission round trip over TLS with a
// kept-alive connection, as the API server makes them: request encoded,
// sent, handled (owner lookup from a stub, inject, patch), answered, read.
func BenchmarkAdmission(b *testing.B) {
	body := readFile(b, filepath.Join("testdata", "golden", "cronjob-unknown-fields.review.json"))
	url, client := tlsServer(b, newTestHandler(goldenOwners))
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url+"/mutate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"patchType":"JSONPatch"`)) {
			b.Fatalf("status %d: %s", resp.StatusCode, out)
		}
	}
}

// BenchmarkHandler is one call of the /mutate handler without the network,
// for Job pods as the Job controller makes them with 1 and 10 containers
// (injected), a pod that did not opt in, and the decode-only floor on the
// same bodies: the least any mutating webhook does (decode the review and
// the pod with the full admission types, answer "allowed" with no patch).
// Compare each real-N with floor-N.
func BenchmarkHandler(b *testing.B) {
	type bench struct {
		name  string
		body  []byte
		h     http.Handler
		patch bool
	}
	var benches []bench
	for _, n := range []int{1, 10} {
		body := benchReview(b, n)
		benches = append(benches,
			bench{fmt.Sprintf("real-%d", n), body, newTestHandler(benchOwners), true},
			bench{fmt.Sprintf("floor-%d", n), body, http.HandlerFunc(floor), false})
	}
	benches = append(benches, bench{"not-enabled", readFile(b, filepath.Join("testdata", "golden", "not-enabled.review.json")), newTestHandler(goldenOwners), false})
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(bc.body))
				req.Header.Set("Content-Type", "application/json")
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) != bc.patch {
					b.Fatalf("status %d, want 200 with patch=%v: %s", rec.Code, bc.patch, rec.Body.Bytes())
				}
			}
		})
	}
}

// floor is the decode-only floor of BenchmarkHandler (the same as
// test/bench's floor server).
func floor(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, fmt.Sprintf("decode review: %v", err), http.StatusBadRequest)
		return
	}
	var pod corev1.Pod
	if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
		http.Error(w, fmt.Sprintf("decode pod: %v", err), http.StatusBadRequest)
		return
	}
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta,
		Response: &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// benchOwners is the owner of benchReview's pods: a Job of a CronJob that
// opted in.
var benchOwners = stubOwners{testJob: {
	JobName:            testJob,
	CronJobName:        "nightly-export",
	CronJobAnnotations: map[string]string{"jobcheck.io/enabled": "true", "jobcheck.io/max-age": "15m"},
	Schedule:           "0 3 * * *",
	TimeZone:           "Europe/Berlin",
}}

// benchReview is the AdmissionReview of a pod as the Job controller creates
// it (labels, owner reference, the service account token volume) with n
// containers that each have a command, env, resources and mounts.
func benchReview(b testing.TB, n int) []byte {
	b.Helper()
	const job, uid = testJob, testJobUID
	yes := true
	pod := corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job + "-", Namespace: "team-a",
			Labels: map[string]string{"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": job,
				"controller-uid": uid, "job-name": job, "app.kubernetes.io/name": "nightly-export"},
			Annotations:     map[string]string{"batch.kubernetes.io/job-tracking": ""},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job, UID: uid, Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, ServiceAccountName: "default",
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "export-config"}}}},
				{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
				}}}},
			},
		},
	}
	for i := range n {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("step-%d", i), Image: "registry.example/team-a/exporter:2.4.1",
			Command: []string{"/usr/local/bin/export"}, Args: []string{"--all", "--since=24h", "--out=s3://exports/nightly"},
			Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "DB_HOST", Value: "postgres.team-a.svc"},
				{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/export", ReadOnly: true},
				{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy: corev1.PullIfNotPresent,
		})
	}
	return reviewOf(b, &pod, false)
}
