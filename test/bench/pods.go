//go:build bench

package main

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// The owner every benchmark pod belongs to: a Job created by a CronJob that
// opted in, as the Job controller would create it at 03:00.
const (
	benchNamespace = "team-a"
	benchJob       = "nightly-export-29345678"
	benchJobUID    = "7b2d9b9f-5e2c-4c8f-8e8d-1f4f1f1f2b22"
)

// benchOwner is what the owner lookup answers for benchJob.
func benchOwner() inject.Owner {
	return inject.Owner{
		JobName:            benchJob,
		CronJobName:        "nightly-export",
		CronJobAnnotations: map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationMaxAge: "15m"},
		Schedule:           "0 3 * * *",
		TimeZone:           "Europe/Berlin",
	}
}

// jobPod is a pod as the Job controller creates it and the API server hands
// it to mutating webhooks: labels, owner reference, the service account token
// volume, and n containers that each have a command, env, resources and mounts.
func jobPod(n int) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: benchJob + "-",
			Namespace:    benchNamespace,
			Labels: map[string]string{
				"batch.kubernetes.io/controller-uid": benchJobUID,
				"batch.kubernetes.io/job-name":       benchJob,
				"controller-uid":                     benchJobUID,
				"job-name":                           benchJob,
				"app.kubernetes.io/name":             "nightly-export",
			},
			Annotations: map[string]string{"batch.kubernetes.io/job-tracking": ""},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: benchJob, UID: types.UID(benchJobUID),
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: "default",
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "export-config"}}}},
				{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
					Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))}},
						{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
							Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					}}}},
			},
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			},
		},
	}
	for i := range n {
		name := "export"
		if n > 1 {
			name = fmt.Sprintf("step-%d", i)
		}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name:    name,
			Image:   "registry.example/team-a/exporter:2.4.1",
			Command: []string{"/usr/local/bin/export"},
			Args:    []string{"--all", "--since=24h", "--out=s3://exports/nightly"},
			Env: []corev1.EnvVar{
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "DB_HOST", Value: "postgres.team-a.svc"},
				{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "config", MountPath: "/etc/export", ReadOnly: true},
				{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
			},
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
		})
	}
	return pod
}

// review is the AdmissionReview body the API server would POST for pod.
func review(pod *corev1.Pod) ([]byte, error) {
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, fmt.Errorf("encode pod: %w", err)
	}
	podKind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	podResource := metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "0a5f7c1e-1111-4c1e-9a0e-000000000002", Kind: podKind, Resource: podResource,
			RequestKind: &podKind, RequestResource: &podResource,
			Namespace: pod.Namespace, Operation: admissionv1.Create,
			UserInfo: authnv1.UserInfo{Username: "system:serviceaccount:kube-system:job-controller",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}},
			Object:  runtime.RawExtension{Raw: raw},
			Options: runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}`)},
			DryRun:  ptr(false),
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode review: %w", err)
	}
	return b, nil
}

func ptr[T any](v T) *T { return &v }
